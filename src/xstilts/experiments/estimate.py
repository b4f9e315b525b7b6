"""How big a plan is: training steps and tokens per train step, and GPU hours from a reference.

Counts come from the plan's step params and the training rows (read from the data directory
when the file is there, else the published size in ``estimate_reference.yaml``). Tokens are
sequence positions at the phase's ``max_length`` (every row padded to it: an upper bound; a
multiple-choice row is one sequence per choice, a QA row one window). GPU hours divide the tokens
by a published fine-tuning throughput (``estimate_reference.yaml`` names it), scaled by the
encoder's compute per token (layers x hidden^2) against the reference model's. Evaluation,
attacks and retrieval are not counted; early stopping can only shorten training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from xstilts.yamlio import load_yaml

REFERENCE = Path(__file__).with_name("estimate_reference.yaml")


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    return load_yaml(REFERENCE.read_text(encoding="utf-8"), str(REFERENCE))


@dataclass
class TrainSize:
    label: str
    model: str
    batches: int  # micro-batches of batch_size rows (the trainer's steps)
    updates: int  # optimizer updates (batches / grad_accum)
    sequences: int
    tokens: int
    gpu_hours: float | None  # None: the encoder's size is not in the reference


def _rows(task: str, split: str, ddir: Path | None, limit: int | None) -> tuple[int, int]:
    """(rows, sequences per row) of a training split: read when local, else published."""
    from xstilts.data.sources import resolve_local
    from xstilts.tasks.registry import get_task

    ref = reference()
    spec = get_task(task)
    lang = spec.train_language
    base = spec.source_file and Path(spec.source_file).stem
    local = any(resolve_local(s, spec, lang, ddir) for s in spec.split_sources(split, lang))
    if local:
        ex = _read(task, split, str(ddir) if ddir else None)
        n = len(ex)
        choices = len(ex[0]["choices"]) if ex and "choices" in ex[0] else 1
    else:
        n = ref["train_rows"].get(task, ref["train_rows"].get(base, 0))
        choices = ref["choices"].get(task, ref["choices"].get(base, 1))
    return (min(n, limit) if limit else n), choices


@lru_cache(maxsize=256)
def _read(task: str, split: str, ddir: str | None) -> list[dict]:
    from xstilts.data.sources import load_examples
    from xstilts.tasks.registry import get_task

    spec = get_task(task)
    return load_examples(spec, split, spec.train_language, Path(ddir) if ddir else None)[0]


def train_size(step, ddir: Path | None) -> TrainSize:
    """The size of one ``train`` step, as the trainer would run it."""
    from xstilts.training.config import PhaseConfig

    p = step.params
    cfg = PhaseConfig.model_validate(p["phase"])
    counts = [_rows(t, cfg.train_split, ddir, cfg.max_examples) for t in p["tasks"]]
    per_epoch = sum(math.ceil(n / cfg.batch_size) for n, _ in counts)
    batches = cfg.max_steps if cfg.max_steps is not None else max(1, round(per_epoch * cfg.epochs))
    rows = sum(n for n, _ in counts) or 1
    choices = sum(n * c for n, c in counts) / rows  # sequences per row, mixed by share
    sequences = round(batches * cfg.batch_size * choices)
    tokens = sequences * cfg.max_length
    model = p["model"]["name"]
    return TrainSize(
        step.label,
        model,
        batches,
        math.ceil(batches / cfg.grad_accum),
        sequences,
        tokens,
        gpu_hours(tokens, model),
    )


def gpu_hours(tokens: int, model: str) -> float | None:
    ref = reference()
    arch = ref["architectures"].get(model)
    if arch is None:
        return None
    thr = ref["throughput"]
    scale = (thr["layers"] * thr["hidden"] ** 2) / (arch[0] * arch[1] ** 2)
    return tokens / (thr["tokens_per_second"] * scale) / 3600


def plan_size(plan, data_dir: str | Path | None) -> dict[str, Any]:
    """Totals over a plan's train steps, with the reference the GPU hours rest on."""
    ddir = Path(data_dir) if data_dir else None
    sizes = [train_size(s, ddir) for s in plan.steps.values() if s.kind == "train"]
    known = [s.gpu_hours for s in sizes if s.gpu_hours is not None]
    thr = reference()["throughput"]
    return {
        "train_steps": len(sizes),
        "batches": sum(s.batches for s in sizes),
        "updates": sum(s.updates for s in sizes),
        "sequences": sum(s.sequences for s in sizes),
        "tokens": sum(s.tokens for s in sizes),
        "gpu_hours": round(sum(known), 2) if known else None,
        "unsized_models": sorted({s.model for s in sizes if s.gpu_hours is None}),
        "reference": {k: thr[k] for k in ("tokens_per_second", "gpu", "source")},
    }


def describe(size: dict[str, Any]) -> str:
    """One paragraph for ``xstilts plan``."""
    hours = "unknown" if size["gpu_hours"] is None else f"{size['gpu_hours']:,.1f}"
    text = (
        f"Training size: {size['train_steps']} trainings, {size['updates']:,} optimizer updates "
        f"({size['batches']:,} batches), {size['tokens'] / 1e9:,.3f}G training tokens (padded "
        f"to max_length: an upper bound). About {hours} GPU hours of training on "
        f"{size['reference']['gpu']} at {size['reference']['tokens_per_second']:,} tokens/s "
        f"for BERT-Large scaled by layers x hidden^2 ({size['reference']['source']}); "
        "evaluation, attacks and retrieval not included."
    )
    if size["unsized_models"]:
        text += f" Not sized (architecture unknown): {', '.join(size['unsized_models'])}."
    return text
