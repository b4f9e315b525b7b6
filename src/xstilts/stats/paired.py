"""Paired tests of two models on the same items, respecting clusters of dependent items.

For one seed pair (the per-example comparison in ``xstilts.evaluation.robustness``): the
difference of the two models' per-item scores is summed per cluster (all language versions of a
source row), and

* ``cluster_permutation_test`` flips the sign of whole clusters (under the null hypothesis the
  two models' labels are exchangeable on every source row, so swapping them for a row swaps them
  in every language at once);
* ``cluster_bootstrap_ci`` resamples whole clusters (percentile interval).

With every item its own cluster these are the usual paired permutation test and paired bootstrap.
McNemar's test assumes independent items and is used only where they are (one language).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xstilts.stats.intervals import UNBOUNDED, _bootstrap_counts, cluster_totals


@dataclass(frozen=True)
class PairedResult:
    difference: float
    low: float
    high: float
    p_value: float
    n_items: int
    n_clusters: int
    confidence: float
    n_resamples: int


def _codes(clusters) -> np.ndarray:
    """Integer codes 0..C−1 in sorted order of the cluster keys (integers sort as numbers)."""
    arr = np.asarray(clusters)
    _, codes = np.unique(arr if arr.dtype.kind in "iu" else arr.astype(str), return_inverse=True)
    return codes.astype(np.int64)


def cluster_permutation_test(
    diff: np.ndarray,
    clusters,
    weights: np.ndarray | None = None,
    *,
    n_resamples: int = 9999,
    seed: int = 0,
) -> float:
    """Two-sided sign-flip permutation p of ``Σ w_i diff_i == 0`` with clusters flipped whole;
    ``(1 + #{|T*| ≥ |T|}) / (1 + n_resamples)`` (never 0)."""
    t = cluster_totals(np.asarray(diff, float)[None, :], _codes(clusters), weights)[0]
    obs = abs(float(t.sum()))
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_resamples, t.size), dtype=np.int8) * 2 - 1
    perm = np.abs(signs @ t)
    hits = int(np.sum(perm >= obs - 1e-12 * max(1.0, obs)))
    return (1 + hits) / (1 + n_resamples)


def cluster_bootstrap_ci(
    diff: np.ndarray,
    clusters,
    weights: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    bounds: tuple[float, float] = UNBOUNDED,
) -> tuple[float, float, float]:
    """(estimate, low, high): percentile interval of ``Σ w_i diff_i`` resampling whole clusters.

    Weights are renormalised within each resample (a ratio estimator), so a cluster missing in
    some languages counts by its items; the interval is clipped to ``bounds``."""
    d = np.asarray(diff, float)
    codes = _codes(clusters)
    w = np.full(d.size, 1.0 / d.size) if weights is None else np.asarray(weights, float)
    num = cluster_totals(d[None, :], codes, w)[0]
    den = cluster_totals(np.ones((1, d.size)), codes, w)[0]
    counts = _bootstrap_counts(num.size, n_resamples, seed)
    boot = (counts @ num) / (counts @ den)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    est = float(num.sum() / den.sum())
    return est, max(float(lo), bounds[0]), min(float(hi), bounds[1])


def paired_compare(
    treated: np.ndarray,
    base: np.ndarray,
    clusters,
    weights: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    bounds: tuple[float, float] = UNBOUNDED,
) -> PairedResult:
    """Clustered paired bootstrap interval and permutation p of ``treated − base`` per item."""
    d = np.asarray(treated, float) - np.asarray(base, float)
    est, lo, hi = cluster_bootstrap_ci(
        d, clusters, weights, confidence=confidence, n_resamples=n_resamples, seed=seed,
        bounds=bounds,
    )  # fmt: skip
    p = cluster_permutation_test(d, clusters, weights, n_resamples=n_resamples * 5, seed=seed)
    return PairedResult(
        est, lo, hi, p, int(d.size), int(np.unique(_codes(clusters)).size), confidence, n_resamples
    )
