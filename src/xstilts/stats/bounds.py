"""The range a reported number can take, from the metric declarations (``xstilts.scoring``).

Result rows name a score (``accuracy``, ``f1``, ``attack_success_rate``...), which is a registered
metric, a declared measure or the headline key (``main``) of one; ``scoring.describe`` gives its
``bounds`` (a score nothing declares reads as a 0..1 fraction).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=256)
def stored_bounds(score: str) -> tuple[float, float]:
    """Range of ``score`` as stored (before the report's ×100)."""
    from xstilts.scoring import describe

    lo, hi = describe(score).bounds
    return float(lo), float(hi)


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
