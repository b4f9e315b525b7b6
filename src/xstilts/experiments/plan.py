"""Config -> plan: the steps a config needs, deduplicated by content key, in dependency order.

An intermediate checkpoint has the same key for every target that starts from it, so a grid of
3 intermediate set-ups x 3 targets trains 3 intermediate checkpoints, not 9.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xstilts.data.sources import resolve_local
from xstilts.experiments.config import ExperimentConfig
from xstilts.experiments.pipeline import check_languages
from xstilts.experiments.steps import Step
from xstilts.models.encoder import resolve_model
from xstilts.paths import data_root
from xstilts.tasks.registry import all_groups, expand_tasks, get_task


@dataclass
class Plan:
    steps: dict[str, Step] = field(default_factory=dict)  # key -> step, in insertion (topo) order
    requested: int = 0  # steps asked for before de-duplication

    def add(self, step: Step) -> str:
        self.requested += 1
        self.steps.setdefault(step.key, step)
        return step.key

    def counts(self) -> dict[str, int]:
        return dict(Counter(s.kind for s in self.steps.values()))

    def summary(self) -> dict[str, Any]:
        return {"steps": len(self.steps), "requested": self.requested, "by_kind": self.counts()}


def _data_fp(task: str, split: str, lang: str, data_dir: Path | None) -> str:
    """Cheap fingerprint of a split's local file (path, size, mtime) for step keys."""
    spec = get_task(task)
    for src in spec.split_sources(split, lang):
        path = resolve_local(src, spec, lang, data_dir)
        if path is not None:
            st = path.stat()
            return f"{path}:{st.st_size}:{st.st_mtime_ns}"
        if src.hf is not None:
            return f"hf:{src.hf.path}:{src.hf.name}:{src.hf.split}"
    return "missing"


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
    for setup in cfg.setups():
        expand_tasks(setup, where="intermediate")
    for model_name in cfg.model_names():
        ref = resolve_model(model_name)
        mref = asdict(ref)
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
                            "data": [
                                _data_fp(t, phase.train_split, get_task(t).train_language, ddir)
                                for t in tasks
                            ],
                        },
                        label=f"intermediate {label} seed {seed}",
                        resources=_train_resources(),
                    )
                    inter_key = plan.add(inter)
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
                            "data": [
                                _data_fp(target, phase.train_split, spec.train_language, ddir)
                            ],
                        },
                        deps={"init": inter_key} if inter_key else {},
                        label=f"target {target} after {label} seed {seed}",
                        resources=_train_resources(),
                    )
                    tkey = plan.add(tstep)
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
                            _data_fp(target, cfg.evaluation.split, lang, ddir) for lang in langs
                        ],
                    }
                    plan.add(
                        Step(
                            "evaluate",
                            {**ev, "labels": labels},
                            deps={"checkpoint": tkey},
                            label=f"evaluate {target} after {label} seed {seed}",
                        )
                    )
                    for pert in cfg.perturbations:
                        pl = pert.label or _pert_label(pert.name, pert.params)
                        plan.add(
                            Step(
                                "evaluate",
                                {
                                    **ev,
                                    "labels": labels,
                                    "perturbation": pert.model_dump(),
                                    "perturbation_label": pl,
                                },
                                deps={"checkpoint": tkey},
                                label=f"evaluate {target} [{pl}] after {label} seed {seed}",
                            )
                        )
    return plan


def eval_languages(cfg: ExperimentConfig, spec, targets: list[str]) -> list[str]:
    """The target's languages, or the configured subset; a language no target has is an error."""
    asked = cfg.evaluation.languages
    if asked is None:
        return list(spec.languages)
    known = {lang for t in targets for lang in get_task(t).languages}
    check_languages(
        spec.model_copy(update={"languages": sorted(known)}), asked, "evaluation.languages"
    )
    return [lang for lang in asked if lang in spec.languages]


def _pert_label(name: str, params: dict[str, Any]) -> str:
    rate = params.get("rate")
    return f"{name}@{rate}" if rate is not None else name


def _train_resources() -> dict[str, float]:
    return {"num_cpus": 1}
