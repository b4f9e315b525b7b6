"""Robustness statistics: gaps, paired bootstrap of a model difference, McNemar's test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def robustness_gap(clean: float, perturbed: float) -> float:
    """clean − perturbed (positive: the perturbation hurts)."""
    return float(clean - perturbed)


def relative_gap(clean: float, perturbed: float) -> float:
    """(clean − perturbed) / clean: the share of clean performance lost (nan when clean is 0)."""
    return float((clean - perturbed) / clean) if clean else float("nan")


@dataclass(frozen=True)
class BootstrapCI:
    difference: float  # mean(a) - mean(b) on the full sample
    low: float
    high: float
    confidence: float
    n_resamples: int


def paired_bootstrap(
    scores_a: np.ndarray | list[float],
    scores_b: np.ndarray | list[float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile CI of mean(a) − mean(b), resampling the *same* example indices for both models
    (per-example scores, e.g. 0/1 correctness), so the shared difficulty of items cancels.

    Every example is its own item; :func:`xstilts.stats.paired.cluster_bootstrap_ci` (which this
    calls) resamples clusters of dependent examples (translations of one source row)."""
    from xstilts.stats.paired import cluster_bootstrap_ci

    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError("paired_bootstrap needs two non-empty 1-d arrays of equal length")
    est, low, high = cluster_bootstrap_ci(
        a - b, np.arange(a.size), confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    return BootstrapCI(float(a.mean() - b.mean()), low, high, confidence, n_resamples)


@dataclass(frozen=True)
class McNemarResult:
    b: int  # a correct, b wrong
    c: int  # a wrong, b correct
    statistic: float
    p_value: float
    method: str  # "exact" or "chi2"


def mcnemar(
    correct_a: np.ndarray | list[bool], correct_b: np.ndarray | list[bool], *, exact_below: int = 25
) -> McNemarResult:
    """McNemar's test on paired correctness. With fewer than ``exact_below`` discordant pairs the
    exact two-sided binomial test (statistic = min(b, c)); otherwise chi-square with continuity
    correction, (|b − c| − 1)² / (b + c), 1 degree of freedom."""
    a, b_ = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError("mcnemar needs paired arrays of equal length")
    b = int(np.sum(a & ~b_))
    c = int(np.sum(~a & b_))
    n = b + c
    if n == 0:
        return McNemarResult(b, c, 0.0, 1.0, "exact")
    if n < exact_below:
        p = min(1.0, 2.0 * stats.binom.cdf(min(b, c), n, 0.5))
        return McNemarResult(b, c, float(min(b, c)), float(p), "exact")
    stat = (abs(b - c) - 1) ** 2 / n
    return McNemarResult(b, c, float(stat), float(stats.chi2.sf(stat, 1)), "chi2")
