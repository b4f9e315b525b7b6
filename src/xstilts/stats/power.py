"""Power: the smallest effect a test of this precision would detect most of the time."""

from __future__ import annotations

import math

from scipy import special


def min_detectable_effect(
    se: float, df: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Minimum detectable effect of a two-sided t-test at ``alpha`` with ``power``:
    ``(t_{1−α/2, df} + t_{power, df}) · se``. An effect this size is found 80% of the time;
    "no significant change" means effects below it would mostly go unseen."""
    if not (math.isfinite(se) and math.isfinite(df)) or df <= 0:
        return math.nan
    return float((special.stdtrit(df, 1 - alpha / 2) + special.stdtrit(df, power)) * se)
