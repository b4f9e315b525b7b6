"""Seed statistics for report cells: mean ± std, t-intervals and the paired test.

Kept apart from the tables so the numbers a reader sees can be checked by hand in tests.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with its spread; ``std``/CI are NaN with fewer than two seeds."""

    mean: float
    std: float
    n: int
    ci_low: float = math.nan
    ci_high: float = math.nan


def summarize(values: pd.Series | np.ndarray | list[float], ci: float = 0.95) -> Summary:
    """Mean, sample std (ddof=1) and a two-sided t-interval for the mean."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    n = int(arr.size)
    if n == 0:
        return Summary(math.nan, math.nan, 0)
    mean = float(arr.mean())
    if n < 2:
        return Summary(mean, math.nan, n)
    std = float(arr.std(ddof=1))
    from scipy import stats

    half = float(stats.t.ppf(0.5 + ci / 2, n - 1)) * std / math.sqrt(n)
    return Summary(mean, std, n, mean - half, mean + half)


def paired_pvalue(treated: pd.Series, base: pd.Series) -> float:
    """Two-sided paired t-test p over the seeds both have; NaN when it cannot be tested.

    Fewer than two shared seeds, or differences with no variance (t undefined), give NaN: the
    report then prints no mark rather than a spurious one.
    """
    common = treated.index.intersection(base.index)
    if len(common) < 2:
        return math.nan
    a = treated.loc[common].to_numpy(dtype=float)
    b = base.loc[common].to_numpy(dtype=float)
    d = a - b
    if float(np.std(d)) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        return math.nan
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = float(stats.ttest_rel(a, b).pvalue)
    return p


def significance_mark(p: float) -> str:
    """``**`` for p<0.01, ``*`` for p<0.05, else nothing."""
    if p is None or math.isnan(p):
        return ""
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""
