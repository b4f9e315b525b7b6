"""The ``train`` step (intermediate or target phase) and the language checks of the planner.

The runner takes everything from the step's params (never from a global config): which model,
which tasks, which hyperparameters, which checkpoint to start from. Only the encoder passes from
one phase to the next; every phase starts fresh heads. Scoring steps (``evaluate``, ``attack``,
``retrieve``, ``align``) are run by their protocols (``evaluation/protocols/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.data.featurize import featurize
from xstilts.data.sources import load_examples
from xstilts.errors import ConfigError
from xstilts.evaluation.protocols.finetuned import input_digest  # noqa: F401  (re-exported)
from xstilts.experiments.steps import STEP_KINDS, Step, StepContext
from xstilts.models.build import build_model
from xstilts.models.encoder import EncoderRef
from xstilts.models.model import MultiTaskModel, load_state, save_checkpoint
from xstilts.rows import ResultRow
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec
from xstilts.training import distributed
from xstilts.training.config import PhaseConfig
from xstilts.training.trainer import TrainSet, train

__all__ = ["add_task_head", "build_model", "featurize", "input_digest", "run_train"]


def _ref(p: dict[str, Any]) -> EncoderRef:
    return EncoderRef(**p["model"])


def _data_dir(p: dict[str, Any]) -> Path | None:
    return Path(p["data_dir"]) if p.get("data_dir") else None


def add_task_head(
    model: MultiTaskModel, spec: TaskSpec, pooling: str, dropout: float | None = None
) -> None:
    fam = get_family(spec.family)
    params = {**fam.head_params(spec)}
    if "pooling" in _head_fields(fam.head):
        params["pooling"] = pooling
    if dropout is not None and "dropout" in _head_fields(fam.head):
        params["dropout"] = dropout
    model.add_head(spec.name, fam.head, params)


def _head_fields(kind: str) -> set[str]:
    from xstilts.models.heads import HEADS

    return set(HEADS.get(kind).config.model_fields)


@STEP_KINDS.register("train")
def run_train(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Train on one or more English tasks from the pretrained encoder or a previous phase."""
    import torch

    p = step.params
    cfg = PhaseConfig.model_validate(p["phase"])
    if cfg.processes > 1 and not distributed.in_worker():
        distributed.launch(step, ctx.work_dir, ctx.inputs, cfg.processes, run_worker)
        return []
    torch.manual_seed(p["seed"])
    ref = _ref(p)
    model, tok = build_model(ref, p)
    if "init" in ctx.inputs:
        load_state(model, ctx.inputs["init"], encoder_only=True)
    sets: dict[str, TrainSet] = {}
    for name in p["tasks"]:
        spec = get_task(name, where="tasks")
        fam = get_family(spec.family)
        lang = spec.train_language
        ex, fp = load_examples(spec, cfg.train_split, lang, _data_dir(p), limit=cfg.max_examples)
        if hasattr(fam, "prepare_spec"):  # e.g. tagging: labels discovered from the train data
            spec = fam.prepare_spec(spec, ex)
        feats = featurize(
            spec,
            ex,
            tok,
            cfg.max_length,
            cfg.train_split,
            lang,
            fp,
            cache=p.get("cache_features", True),
        )
        dev_ex = dev_feats = None
        if cfg.select_best and cfg.dev_split and spec.has_split(cfg.dev_split, lang):
            dev_ex, dfp = load_examples(
                spec, cfg.dev_split, lang, _data_dir(p), limit=cfg.dev_max_examples
            )
            dev_feats = featurize(
                spec,
                dev_ex,
                tok,
                cfg.max_length,
                cfg.dev_split,
                lang,
                dfp,
                cache=p.get("cache_features", True),
            )
        add_task_head(model, spec, ref.pooling, cfg.head_dropout)
        sets[name] = TrainSet(name, fam, spec, feats, dev_ex, dev_feats)
    bar = ctx.progress(step.label, 0) if ctx.progress else None
    res = train(
        model,
        sets,
        cfg,
        seed=p["seed"],
        pad_id=tok.pad_token_id or 0,
        work_dir=ctx.work_dir,
        step_name=step.label or step.key,
        progress=(lambda i, n, loss: bar(i, n, loss)) if bar else None,
    )
    if not distributed.is_main_worker():
        return []  # the main worker writes the checkpoint
    save_checkpoint(
        model,
        ctx.work_dir,
        {
            "tasks": p["tasks"],
            "seed": p["seed"],
            "steps": res.steps,
            "history": res.history,
            "best": res.best,
            "examples_seen": res.examples_seen,
            "rows_computed": res.rows_computed,
            "seconds": res.seconds,
            "model": ref.name,
            "processes": cfg.processes,
        },
    )
    tok.save_pretrained(str(ctx.work_dir))
    return []


def run_worker(spec: dict[str, Any]) -> None:
    """One data-parallel worker (``training.distributed`` calls it): rebuild the step, train."""
    step = Step(spec["kind"], spec["params"], spec["deps"], spec["label"], key=spec["key"])
    ctx = StepContext(
        work_dir=Path(spec["work_dir"]), inputs={k: Path(v) for k, v in spec["inputs"].items()}
    )
    run_train(step, ctx)


def known_languages(spec: TaskSpec) -> set[str]:
    """The task's languages plus, for MLQA-style tasks, its context-question language pairs."""
    from xstilts.data.sources import language_pairs, supports_pairs

    return set(spec.languages) | (set(language_pairs(spec)) if supports_pairs(spec) else set())


def check_languages(spec: TaskSpec, langs: list[str] | None, where: str) -> list[str]:
    if langs is None:
        return list(spec.languages)
    known = known_languages(spec)
    bad = [lang for lang in langs if lang not in known]
    if bad:
        raise ConfigError(
            f"unknown language(s) {', '.join(bad)} for task {spec.name} "
            f"(it has {', '.join(spec.languages)})",
            where=where,
        )
    return list(langs)
