"""Robustness statistics against hand-computed values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from xstilts.perturb.metrics import mcnemar, paired_bootstrap, relative_gap, robustness_gap


def test_gaps():
    assert robustness_gap(0.8, 0.6) == pytest.approx(0.2)
    assert relative_gap(0.8, 0.6) == pytest.approx(0.25)
    assert np.isnan(relative_gap(0.0, 0.0))


def _pairs(b: int, c: int, both: int = 5):
    a = [True] * b + [False] * c + [True] * both
    bb = [False] * b + [True] * c + [True] * both
    return a, bb


def test_mcnemar_exact_by_hand():
    r = mcnemar(*_pairs(10, 2))
    # two-sided exact: 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assert (r.b, r.c, r.method) == (10, 2, "exact")
    assert r.p_value == pytest.approx(2 * 79 / 4096)
    assert r.p_value == pytest.approx(stats.binomtest(2, 12, 0.5).pvalue)


def test_mcnemar_chi2_by_hand():
    r = mcnemar(*_pairs(30, 10))
    assert r.method == "chi2"
    assert r.statistic == pytest.approx((20 - 1) ** 2 / 40)  # 9.025
    assert r.p_value == pytest.approx(0.0026635, rel=1e-3)


def test_mcnemar_no_discordant_pairs():
    r = mcnemar([True, False], [True, False])
    assert r.p_value == 1.0 and r.b == r.c == 0


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    a = (rng.random(300) < 0.8).astype(float)
    b = (rng.random(300) < 0.7).astype(float)
    ci = paired_bootstrap(a, b, n_resamples=2000, seed=3)
    assert ci.difference == pytest.approx(a.mean() - b.mean())
    assert ci.low < ci.difference < ci.high
    # same computation by hand: multinomial resampling counts of the 300 examples
    counts = np.random.default_rng(3).multinomial(300, np.full(300, 1 / 300), 2000)
    d = counts @ (a - b) / 300
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])))
    assert paired_bootstrap(a, b, n_resamples=2000, seed=3) == ci
    same = paired_bootstrap(a, a, seed=1)
    assert same.low == same.high == same.difference == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:10])
