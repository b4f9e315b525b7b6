"""Metrics: each declares its inputs and computes in one function (as Hugging Face ``evaluate``).

A metric is registered with ``@metric("name", inputs=(...))`` and called as
``compute("name", predictions=..., references=..., **extra)``; it returns ``{score_name: value}``
with values in the scale XTREME reports (accuracy and F1 in 0..100 are *not* used: we keep 0..1
internally and the report multiplies by 100).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from xstilts.errors import ConfigError
from xstilts.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    inputs: tuple[str, ...]
    fn: Callable[..., dict[str, float]]
    main: str  # the key of the returned dict that is the metric's headline score
    higher_is_better: bool = True
    scale: float = 100.0  # factor from the stored 0..1 value to the reported number
    bounds: tuple[float, float] = (0.0, 1.0)  # range of the stored value (intervals stay inside)
    aggregation: str = "mean"  # how languages combine into an average


METRICS: Registry[Metric] = Registry("metric")


def metric(
    name: str,
    *,
    inputs: tuple[str, ...] = ("predictions", "references"),
    main: str | None = None,
    higher_is_better: bool = True,
    scale: float = 100.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    aggregation: str = "mean",
):
    """Register ``fn(**inputs) -> dict`` under ``name`` with how its values read and combine."""

    def deco(fn: Callable[..., dict[str, float]]):
        m = Metric(name, inputs, fn, main or name, higher_is_better, scale, bounds, aggregation)
        METRICS.register(name)(m)
        return fn

    return deco


def measure(
    name: str,
    *,
    higher_is_better: bool = True,
    scale: float = 100.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    aggregation: str = "mean",
) -> None:
    """Declare a number a step computes outside :func:`compute` (attack summaries, alignment
    probes), so that readers take its direction, scale and aggregation from the registry too."""

    def fn(**_: Any) -> dict[str, float]:
        raise ConfigError(f"{name!r} is measured by its step, not by compute()", where="metrics")

    m = Metric(name, (), fn, name, higher_is_better, scale, bounds, aggregation)
    METRICS.register(name)(m)


_PLAIN = Metric("", (), lambda **_: {}, "")


def describe(score: str) -> Metric:
    """How a stored score reads: the metric registered under that name, else the metric whose
    headline it is (``f1`` of ``squad``), else a higher-is-better 0..1 fraction."""
    if score in METRICS:
        return METRICS.get(score).obj
    for entry in METRICS.items():
        if entry.obj.main == score:
            return entry.obj
    return replace(_PLAIN, name=score, main=score)


def compute(name: str, **kwargs: Any) -> dict[str, float]:
    m = METRICS.get(name).obj
    missing = [k for k in m.inputs if k not in kwargs]
    if missing:
        raise ConfigError(f"metric {name!r} needs inputs {missing}", where="metrics")
    return {k: float(v) for k, v in m.fn(**kwargs).items()}


@metric("accuracy")
def accuracy(predictions: Sequence, references: Sequence, **_: Any) -> dict[str, float]:
    p, r = np.asarray(predictions), np.asarray(references)
    return {"accuracy": float((p == r).mean()) if len(r) else float("nan")}


@metric("f1_macro")
def f1_macro(predictions: Sequence, references: Sequence, **_: Any) -> dict[str, float]:
    """Macro F1 over the labels present in references or predictions."""
    p, r = np.asarray(predictions), np.asarray(references)
    labels = sorted(set(r.tolist()) | set(p.tolist()))
    f1s = []
    for lab in labels:
        tp = float(((p == lab) & (r == lab)).sum())
        fp = float(((p == lab) & (r != lab)).sum())
        fn = float(((p != lab) & (r == lab)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"f1_macro": float(np.mean(f1s)) if f1s else float("nan")}


# Official-score metrics of the other families register themselves on import.
from xstilts.evaluation import (  # noqa: E402,F401
    measures,
    metrics_qa,
    metrics_regression,
    metrics_retrieval,
    metrics_tagging,
)
