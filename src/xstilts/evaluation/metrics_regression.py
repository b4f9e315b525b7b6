"""Regression metrics (STS-B): Pearson and Spearman correlation, as GLUE reports them.

Computed with numpy (Spearman = Pearson of average ranks, ties sharing their mean rank, as
``scipy.stats.spearmanr``), so scipy is not a dependency. A constant input has no correlation:
the value is NaN, as scipy returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import metric


def _vectors(predictions: Sequence, references: Sequence) -> tuple[np.ndarray, np.ndarray]:
    try:
        p = np.asarray(predictions, dtype=np.float64).reshape(-1)
        r = np.asarray(references, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError("regression metrics take sequences of numbers", where="metrics") from None
    if p.shape != r.shape:
        raise ConfigError(f"{p.size} predictions vs {r.size} references", where="metrics")
    if p.size < 2:
        raise ConfigError("correlation needs at least 2 pairs", where="metrics")
    if not (np.isfinite(p).all() and np.isfinite(r).all()):
        raise ConfigError("predictions and references must be finite", where="metrics")
    return p, r


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    if denom == 0:
        return float("nan")
    return float(np.clip((xc * yc).sum() / denom, -1.0, 1.0))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values get the mean of the ranks they span (scipy's 'average')."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    start = 0
    for end in range(1, len(x) + 1):
        if end == len(x) or xs[end] != xs[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2.0
            start = end
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(average_ranks(x), average_ranks(y))


@metric(
    "pearson_spearman",
    inputs=("predictions", "references"),
    main="score",
    bounds=(-1.0, 1.0),  # a correlation
)
def pearson_spearman(predictions: Sequence, references: Sequence, **_: Any) -> dict[str, float]:
    """Pearson r, Spearman rho and their mean (``score``), as GLUE's STS-B."""
    p, r = _vectors(predictions, references)
    pr, sr = pearson(p, r), spearman(p, r)
    return {"pearson": pr, "spearman": sr, "score": (pr + sr) / 2}
