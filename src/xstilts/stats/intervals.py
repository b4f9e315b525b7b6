"""Intervals for an effect measured on a sample of test items with a few training seeds.

An effect (a score, or a paired difference of two set-ups) is estimated as the mean over seeds of
a weighted mean over items. Two things were sampled: the training seeds (3, typically) and the
test items (a few hundred source rows, translated into several languages). The two-level interval
accounts for both:

* **seed level**: the sample variance of the per-seed estimates over ``S`` seeds, with ``S − 1``
  degrees of freedom (the t-based component that stays honest with 3 seeds);
* **item level**: the variance of the seed-averaged estimate under a bootstrap over *source
  items*: every language version of one source row is one cluster and is resampled together;
  the seed × item interaction, already inside the seed component, is subtracted once;

combined as a sum of variances whose interval half-width is the quadrature sum of the two
components' t half-widths (a t-interval with S − 1 = 2 degrees of freedom when seeds dominate and a
normal one when items do). Every
interval is intersected with the range the quantity can take: the true value lies in that range,
so clipping never removes it and coverage is unchanged. ``docs/statistics.md`` explains why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import special

UNBOUNDED = (-math.inf, math.inf)


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval, standard error and degrees of freedom.

    ``seed_var`` / ``item_var`` are the two variance components of ``se²`` (``item_var`` is NaN
    for a seed-only interval); ``p_value`` tests ``estimate == 0`` with the same t reference.
    """

    estimate: float
    low: float
    high: float
    se: float
    df: float
    confidence: float = 0.95
    seed_var: float = math.nan
    item_var: float = math.nan
    n_seeds: int = 0
    n_clusters: int = 0
    p_value: float = math.nan
    method: str = ""

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def clip_interval(iv: Interval, bounds: tuple[float, float] = UNBOUNDED) -> Interval:
    """``iv`` intersected with ``bounds`` (the quantity's possible range); the estimate, a mean
    of values inside the range, is only ever outside it by float rounding and is put back."""
    lo, hi = bounds
    return replace(
        iv,
        estimate=min(max(iv.estimate, lo), hi),
        low=max(iv.low, lo),
        high=min(iv.high, hi),
    )


def _t_interval(
    est: float, var: float, df: float, confidence: float, bounds: tuple[float, float], **kw
) -> Interval:
    se = math.sqrt(max(var, 0.0))
    if not math.isfinite(df) or df <= 0:
        return Interval(est, math.nan, math.nan, se, df, confidence, **kw)
    q = float(special.stdtrit(df, 0.5 + confidence / 2))
    # no spread at all (identical values): the t statistic is undefined, so no test
    p = (
        float(2 * special.stdtr(df, -abs(est) / se))
        if se > 1e-12 * max(1.0, abs(est))
        else math.nan
    )
    iv = Interval(est, est - q * se, est + q * se, se, df, confidence, p_value=p, **kw)
    return clip_interval(iv, bounds)


def seed_t_interval(
    values: np.ndarray | list[float],
    *,
    confidence: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
) -> Interval:
    """The t-interval over seeds of per-seed estimates (the secondary, seed-only interval).

    It treats the evaluation items as fixed: it says how much another seed would move the number
    on *these* items, not how much another sample of items would.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, math.nan, confidence)
    est = float(x.mean())
    if n < 2:
        return Interval(est, math.nan, math.nan, math.nan, 0.0, confidence, n_seeds=1)
    var = float(x.var(ddof=1)) / n
    return _t_interval(
        est, var, n - 1, confidence, bounds, seed_var=var, n_seeds=n, method="seed-t"
    )


def cluster_totals(
    values: np.ndarray, clusters: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``T[s, c] = Σ_{i in c} w_i · values[s, i]``: per seed, each cluster's weighted total.

    ``values`` is (seeds, items); ``clusters`` integer codes 0..C−1 per item; ``weights`` per item
    (default 1/items), so that ``T[s].sum()`` is seed ``s``'s estimate.
    """
    x = np.atleast_2d(np.asarray(values, dtype=float))
    c = np.asarray(clusters, dtype=np.int64)
    w = np.full(x.shape[1], 1.0 / x.shape[1]) if weights is None else np.asarray(weights, float)
    n_c = int(c.max()) + 1 if c.size else 0
    onehot = np.zeros((x.shape[1], n_c))
    onehot[np.arange(x.shape[1]), c] = w
    return x @ onehot


@lru_cache(maxsize=16)
def _bootstrap_counts(n_clusters: int, n_resamples: int, seed: int) -> np.ndarray:
    """Multinomial resampling counts (resamples × clusters), fixed per seed: the same draws for
    every cell, so a report is reproducible and a table's cells are resampled alike."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), n_resamples)
    counts.setflags(write=False)
    return counts


def two_level_interval(
    values: np.ndarray,
    clusters: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Two-level interval of ``mean_s Σ_i w_i values[s, i]`` (seeds × items).

    ``clusters`` groups items that are not independent (the language versions of one source row
    of a parallel test set; for a non-parallel set every item is its own cluster). The item
    component is a bootstrap over clusters of the seed-averaged cluster totals; the seed component
    the sample variance of the per-seed estimates; see the module docstring.
    """
    T = cluster_totals(values, clusters, weights)
    S, C = T.shape
    m = T.sum(axis=1)  # per-seed estimates
    est = float(m.mean())
    u = T.mean(axis=0)  # seed-averaged cluster totals
    counts = _bootstrap_counts(C, n_resamples, seed)
    boot_var = float(np.var(counts @ u, ddof=1)) if C > 1 else 0.0
    kw = {"n_seeds": S, "n_clusters": C}
    if S < 2:  # one seed: the item bootstrap alone (seed variance cannot be estimated)
        return _t_interval(
            est, boot_var, max(C - 1, 1), confidence, bounds,
            seed_var=math.nan, item_var=boot_var, method="item-bootstrap (one seed)", **kw,
        )  # fmt: skip
    seed_var = float(m.var(ddof=1)) / S
    if C > 1:
        resid = T - u[None, :] - (m - m.mean())[:, None] / C
        inter = float((resid**2).sum()) / ((S - 1) * (C - 1))
    else:
        inter = 0.0
    item_var = max(boot_var - C * inter / S, 0.0)
    var = seed_var + item_var
    df = _combined_df(seed_var, S - 1, item_var, max(C - 1, 1), confidence)
    return _t_interval(
        est, var, df, confidence, bounds,
        seed_var=seed_var, item_var=item_var, method="two-level", **kw,
    )  # fmt: skip


def _combined_df(v1: float, df1: float, v2: float, df2: float, confidence: float) -> float:
    """Degrees of freedom of the combined interval, from the half-widths of its components.

    The half-width is ``√(t²_{df1}·v1 + t²_{df2}·v2)`` (each component with its own t quantile,
    combined in quadrature as in Graybill and Wang's method for sums of variance components); the
    returned df is the one whose t quantile gives that half-width for ``√(v1 + v2)``, so the
    interval, its p-value and the power figure share one reference distribution. Unlike the
    Welch–Satterthwaite df, it does not grow when a 2-df seed variance happens to come out small,
    which made the interval under-cover (0.935 in the simulation of ``tests/stats``).
    """
    if v1 + v2 <= 0:
        return float(df1)
    a = 0.5 + confidence / 2
    q1, q2 = float(special.stdtrit(df1, a)), float(special.stdtrit(df2, a))
    q = math.sqrt((q1**2 * v1 + q2**2 * v2) / (v1 + v2))
    if q >= q1:
        return float(df1)
    if q <= q2:
        return float(df2)
    from scipy.optimize import brentq

    return float(brentq(lambda d: special.stdtrit(d, a) - q, df1, df2))


def naive_pooled_interval(
    values: np.ndarray, *, confidence: float = 0.95, bounds: tuple[float, float] = UNBOUNDED
) -> Interval:
    """Every (seed, item) value as an independent draw: the interval of pooling examples across
    languages and seeds. Kept only to show (in tests and docs) how much it under-covers."""
    x = np.asarray(values, dtype=float).ravel()
    n = x.size
    return _t_interval(
        float(x.mean()), float(x.var(ddof=1)) / n, n - 1, confidence, bounds, method="naive"
    )
