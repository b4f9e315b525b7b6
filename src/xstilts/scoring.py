"""The metric registry: each metric declares its inputs, headline score, direction, scale, bounds and
aggregation where it is registered (``@metric``), and ``compute`` calls it by name.

Kept at the top of the package so tasks (which score their predictions) and evaluation (which
defines the metrics) both depend on it and not on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# The modules whose metrics fill the registry, imported on the first lookup (entry-point style).
METRIC_MODULES = (
    "xstilts.evaluation.metrics",
    "xstilts.evaluation.metrics_qa",
    "xstilts.evaluation.metrics_regression",
    "xstilts.evaluation.metrics_retrieval",
    "xstilts.evaluation.metrics_tagging",
)
METRICS: Registry[Metric] = Registry("metric", providers=METRIC_MODULES)


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


def compute(name: str, **kwargs: Any) -> dict[str, float]:
    m = METRICS.get(name).obj
    missing = [k for k in m.inputs if k not in kwargs]
    if missing:
        raise ConfigError(f"metric {name!r} needs inputs {missing}", where="metrics")
    return {k: float(v) for k, v in m.fn(**kwargs).items()}
