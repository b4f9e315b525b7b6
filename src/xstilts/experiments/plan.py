"""Config -> plan: the steps a config needs, deduplicated by content key, in dependency order.

An intermediate checkpoint has the same key for every target that starts from it, so a grid of
3 intermediate set-ups x 3 targets trains 3 intermediate checkpoints, not 9.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from xstilts.align.plan import add_align_steps
from xstilts.data.sources import resolve_local
from xstilts.errors import ConfigError
from xstilts.experiments.config import ExperimentConfig
from xstilts.experiments.pipeline import check_languages, known_languages
from xstilts.experiments.retrieval import add_retrieve_steps, retrieval_tasks
from xstilts.experiments.steps import Step
from xstilts.models.encoder import resolve_model
from xstilts.paths import data_root
from xstilts.tasks.registry import all_groups, expand_tasks, get_task


@dataclass
class Plan:
    steps: dict[str, Step] = field(default_factory=dict)  # key -> step, in insertion (topo) order
    requested: int = 0  # steps asked for before de-duplication
    asked: Counter = field(default_factory=Counter)  # key -> times asked (>1: shared)

    def add(self, step: Step) -> str:
        self.requested += 1
        self.asked[step.key] += 1
        self.steps.setdefault(step.key, step)
        return step.key

    def counts(self) -> dict[str, int]:
        return dict(Counter(s.kind for s in self.steps.values()))

    def consumers(self) -> dict[str, list[str]]:
        """Key -> keys of the steps that consume its artefact."""
        out: dict[str, list[str]] = {k: [] for k in self.steps}
        for s in self.steps.values():
            for dep in s.deps.values():
                out.setdefault(dep, []).append(s.key)
        return out

    def uses(self) -> dict[str, int]:
        """Key -> pipelines that need the step: 1 for a final step, else the sum over consumers.

        An intermediate checkpoint evaluated after 3 targets is used 3 times and run once.
        """
        cons = self.consumers()
        out: dict[str, int] = {}
        for key in reversed(list(self.steps)):  # consumers come after what they consume
            n = sum(out.get(c, 1) for c in cons.get(key, []))
            out[key] = max(n, self.asked[key], 1)
        return out

    def shared(self) -> dict[str, int]:
        """Steps that several pipelines need but that run once: key -> pipelines using it."""
        return {k: n for k, n in self.uses().items() if n > 1}

    def summary(self) -> dict[str, Any]:
        uses = self.uses()
        return {
            "steps": len(self.steps),
            "requested": self.requested,
            "by_kind": self.counts(),
            "without_sharing": sum(uses.values()),
            "shared": dict(Counter(self.steps[k].kind for k, n in uses.items() if n > 1)),
        }


def _data_fp(task: str, split: str, lang: str, data_dir: Path | None) -> str:
    """Cheap fingerprint of a split for step keys: the local file (path, size, mtime) and the
    source params that change what is read from it (columns, labels, slices, row order)."""
    spec = get_task(task)
    for src in spec.split_sources(split, lang):
        path = resolve_local(src, spec, lang, data_dir)
        if path is not None:
            st = path.stat()
            params = json.dumps(src.params, sort_keys=True, default=str) if src.params else ""
            return f"{path}:{st.st_size}:{st.st_mtime_ns}" + (f":{params}" if params else "")
        if src.hf is not None:
            return f"hf:{src.hf.path}:{src.hf.name}:{src.hf.split}"
    return "missing"


def _task_fp(task: str) -> str:
    """What of a task's definition changes a trained or scored model: version, labels, fields."""
    spec = get_task(task)
    return (
        f"{task}:v{spec.version}:{spec.family}:{spec.labels}:{spec.text_fields}:"
        f"{spec.train_language}:{spec.metrics}"
    )


def _train_data(tasks: list[str], phase, ddir: Path | None) -> list[str]:
    """Fingerprints of the training data and, when it selects the best epoch, the dev data."""
    out = []
    for t in tasks:
        spec = get_task(t)
        lang = spec.train_language
        out.append(_data_fp(t, phase.train_split, lang, ddir))
        if phase.select_best and phase.dev_split and spec.has_split(phase.dev_split, lang):
            out.append("dev=" + _data_fp(t, phase.dev_split, lang, ddir))
    return out


def _eval_fp(task: str, split: str, lang: str, ddir: Path | None) -> str:
    """As the evaluate step reads it: the split, or dev for a language without that split."""
    spec = get_task(task)
    return _data_fp(task, split if spec.has_split(split, lang) else "dev", lang, ddir)


def targets_of(cfg: ExperimentConfig) -> list[str]:
    names = list(cfg.targets)
    if cfg.benchmark:
        groups = all_groups()
        if cfg.benchmark not in groups:
            from xstilts.errors import ConfigError

            raise ConfigError(
                f"unknown benchmark {cfg.benchmark!r} (known: {', '.join(groups)})",
                where="benchmark",
            )
        names += groups[cfg.benchmark].tasks
    return expand_tasks(names, where="targets")


def build_plan(cfg: ExperimentConfig, *, data_dir: str | None = None) -> Plan:
    plan = Plan()
    ddir = data_root(data_dir or cfg.data_dir)
    common = {
        "data_dir": str(ddir) if ddir else None,
        "trust_remote_code": cfg.trust_remote_code,
        "allow_pickle": cfg.allow_pickle,
        "cache_features": cfg.cache_features,
    }
    targets = targets_of(cfg)
    for t in targets:
        get_task(t, where="targets")
    rtasks = retrieval_tasks(cfg, targets)  # scored on embeddings, never trained
    targets = [t for t in targets if t not in rtasks]
    rkw = {"plan": plan, "cfg": cfg, "common": common, "tasks": rtasks}
    for setup in cfg.setups():
        expand_tasks(setup, where="intermediate")
    from xstilts.experiments.perturbed import (
        check_attack,
        check_perturbation,
        perturbation_applies,
    )
    from xstilts.perturb.attack import attack_problem

    for i, att in enumerate(cfg.attacks):
        check_attack(att.model_dump(), f"attacks[{i}].params")
        _check_subset(att.languages, targets, f"attacks[{i}].languages")
        for t in targets:  # the family must have a goal, the fields must exist
            why = attack_problem({"search": att.name, **att.params}, get_task(t))
            if why:
                raise ConfigError(why, where=f"attacks[{i}]")
    for i, pert in enumerate(cfg.perturbations):
        check_perturbation(pert.name, pert.params, f"perturbations[{i}]")
        _check_subset(pert.languages, targets, f"perturbations[{i}].languages")
    for model_name in cfg.model_names():
        ref = resolve_model(model_name)
        if cfg.pooling:
            ref = replace(ref, pooling=cfg.pooling)
        mref = asdict(ref)
        add_retrieve_steps(
            **rkw,
            ref=ref,
            mref=mref,
            checkpoint="pretrained",
            seed=cfg.seeds[0],
            setup_label="none",
            target="none",
            dep=None,
        )
        for seed in cfg.seeds:
            for setup in cfg.setups():
                tasks = expand_tasks(setup, where="intermediate")
                inter_key = None
                label = "+".join(setup) if setup else "none"
                if tasks:
                    phase = cfg.phase("intermediate", tasks[0] if len(tasks) == 1 else None)
                    inter = Step(
                        "train",
                        {
                            **common,
                            "model": mref,
                            "tasks": tasks,
                            "phase": phase.model_dump(),
                            "seed": seed,
                            "role": "intermediate",
                            "data": _train_data(tasks, phase, ddir),
                            "task_fp": [_task_fp(t) for t in tasks],
                        },
                        label=f"intermediate {label} seed {seed}",
                        resources=_train_resources(),
                    )
                    inter_key = plan.add(inter)
                    add_retrieve_steps(
                        **rkw,
                        ref=ref,
                        mref=mref,
                        checkpoint="intermediate",
                        seed=seed,
                        setup_label=label,
                        target="none",
                        dep=inter_key,
                    )
                for target in targets:
                    spec = get_task(target)
                    phase = cfg.phase("target", target)
                    tstep = Step(
                        "train",
                        {
                            **common,
                            "model": mref,
                            "tasks": [target],
                            "phase": phase.model_dump(),
                            "seed": seed,
                            "role": "target",
                            "data": _train_data([target], phase, ddir),
                            "task_fp": [_task_fp(target)],
                        },
                        deps={"init": inter_key} if inter_key else {},
                        label=f"target {target} after {label} seed {seed}",
                        resources=_train_resources(),
                    )
                    tkey = plan.add(tstep)
                    add_retrieve_steps(
                        **rkw,
                        ref=ref,
                        mref=mref,
                        checkpoint="target",
                        seed=seed,
                        setup_label=label,
                        target=target,
                        dep=tkey,
                    )
                    langs = eval_languages(cfg, spec, targets)
                    labels = {
                        "run_id": cfg.name,
                        "config_hash": cfg.digest(),
                        "model": ref.name,
                        "intermediate": label,
                        "target": target,
                        "seed": seed,
                    }
                    ev = {
                        **common,
                        "model": mref,
                        "task": target,
                        "languages": langs,
                        "split": cfg.evaluation.split,
                        "max_examples": cfg.evaluation.max_examples,
                        "batch_size": cfg.evaluation.batch_size,
                        "max_length": phase.max_length,
                        "save_predictions": cfg.evaluation.save_predictions,
                        "data": [
                            _eval_fp(target, cfg.evaluation.split, lang, ddir) for lang in langs
                        ],
                        "task_fp": _task_fp(target),
                    }
                    if cfg.evaluation.precision != "fp32":  # fp32 keys stay as they were
                        ev["precision"] = cfg.evaluation.precision
                    plan.add(
                        Step(
                            "evaluate",
                            {**ev, "labels": labels},
                            deps={"checkpoint": tkey},
                            label=f"evaluate {target} after {label} seed {seed}",
                        )
                    )
                    for att in cfg.attacks:
                        al = att.label or f"attack:{att.name}@{att.params.get('query_budget', 500)}"
                        alangs = [
                            lang for lang in (att.languages or langs) if lang in spec.languages
                        ]
                        plan.add(
                            Step(
                                "attack",
                                {
                                    **ev,
                                    "labels": labels,
                                    "languages": alangs,
                                    "attack": att.model_dump(),
                                    "perturbation_label": al,
                                },
                                deps={"checkpoint": tkey},
                                label=f"attack {target} [{al}] after {label} seed {seed}",
                            )
                        )
                    for pert in cfg.perturbations:
                        if not perturbation_applies(pert.name, pert.params, spec):
                            continue  # e.g. real_typos on a target without noisy twins
                        pl = pert.label or _pert_label(pert.name, pert.params)
                        plangs = [lang for lang in langs if lang in (pert.languages or langs)]
                        if not plangs:
                            continue
                        plan.add(
                            Step(
                                "evaluate",
                                {
                                    **ev,
                                    "labels": labels,
                                    "languages": plangs,
                                    "data": [
                                        d
                                        for lang, d in zip(langs, ev["data"], strict=True)
                                        if lang in plangs
                                    ],
                                    "perturbation": pert.step_params(),
                                    "perturbation_label": pl,
                                },
                                deps={"checkpoint": tkey},
                                label=f"evaluate {target} [{pl}] after {label} seed {seed}",
                            )
                        )
    add_align_steps(plan, cfg, common, ddir)  # xstilts.align: after the train steps it consumes
    return plan


def _check_subset(langs: list[str] | None, targets: list[str], where: str) -> None:
    """A language no target has would silently drop the perturbation or attack: an error."""
    if not langs or not targets:
        return
    known = set().union(*(known_languages(get_task(t)) for t in targets))
    bad = [lang for lang in langs if lang not in known]
    if bad:
        raise ConfigError(
            f"unknown language(s) {', '.join(bad)}: no target has them "
            f"(targets: {', '.join(targets)})",
            where=where,
        )


def eval_languages(cfg: ExperimentConfig, spec, targets: list[str]) -> list[str]:
    """The target's languages, or the configured subset; a language no target has is an error.

    For tasks with a file per context x question language (MLQA), ``evaluation.language_pairs``
    adds every cross-language pair of the chosen languages (``de-en``: German contexts, English
    questions), and pairs may also be named in ``evaluation.languages``.
    """
    from xstilts.data.sources import language_pairs, supports_pairs

    asked = cfg.evaluation.languages
    pairs = supports_pairs(spec)
    expand = cfg.evaluation.language_pairs and pairs
    if asked is None:
        return language_pairs(spec) if expand else list(spec.languages)
    known = {lang for t in targets for lang in get_task(t).languages}
    check_languages(
        spec.model_copy(update={"languages": sorted(known)}), asked, "evaluation.languages"
    )
    keep = known_languages(spec)
    out = [lang for lang in asked if lang in keep]
    if expand:
        mono = [lang for lang in out if lang in spec.languages]
        out = list(dict.fromkeys(language_pairs(spec.model_copy(update={"languages": mono})) + out))
    return out


def _pert_label(name: str, params: dict[str, Any]) -> str:
    rate = params.get("rate")
    return f"{name}@{rate}" if rate is not None else name


def _train_resources() -> dict[str, float]:
    return {"num_cpus": 1}
