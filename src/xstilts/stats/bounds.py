"""The range a reported number can take, from the metric registry (``Metric.bounds``/``scale``).

Result rows name a score (``accuracy``, ``f1``, ``attack_success_rate``...), which is either a
registered metric or the headline key (``main``) of one. Scores no metric declares fall back to the
report's convention: ×100 scores live in [0, 1], unscaled ones (queries, margins) are unbounded.
"""

from __future__ import annotations

import math
from functools import lru_cache

UNSCALED = frozenset({"avg_queries", "pair_margin", "pair_rank"})


@lru_cache(maxsize=256)
def stored_bounds(score: str) -> tuple[float, float]:
    """Range of ``score`` as stored (before the report's ×100)."""
    from xstilts.evaluation.metrics import METRICS  # the registry (imports its metric modules)

    for entry in METRICS.items():
        m = entry.obj
        if score in (m.name, m.main):
            return tuple(map(float, m.bounds))  # type: ignore[return-value]
    return (-math.inf, math.inf) if score in UNSCALED else (0.0, 1.0)


def level_bounds(score: str, scale: float = 1.0) -> tuple[float, float]:
    """Range of the score itself, in display units (``scale`` = 100 for points)."""
    lo, hi = stored_bounds(score)
    return lo * scale, hi * scale


def difference_bounds(score: str, scale: float = 1.0, terms: int = 1) -> tuple[float, float]:
    """Range of a difference of two scores (``terms=2`` for a difference of differences, e.g. a
    change in a robustness gap), in display units."""
    lo, hi = level_bounds(score, scale)
    w = (hi - lo) * terms
    return -w, w
