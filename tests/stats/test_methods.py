"""The statistics' building blocks against references: corrections, power, bounds, clustering."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from xstilts.stats import (
    adjust_pvalues,
    cluster_permutation_test,
    min_detectable_effect,
    seed_t_interval,
    two_level_interval,
)


@pytest.mark.parametrize("method,ref", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_equal_statsmodels(method: str, ref: str) -> None:
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = np.random.default_rng(7)
    for trial in range(8):  # statsmodels' holm takes ~0.2 s a call
        m = int(rng.integers(1, 40))
        # a mix of tiny, moderate and null p-values, ties included
        p = np.where(rng.random(m) < 0.3, rng.random(m) * 0.01, rng.random(m))
        if trial % 5 == 0:
            p[: m // 2] = p[0]
        want = multipletests(p, alpha=0.05, method=ref)[1]
        np.testing.assert_allclose(adjust_pvalues(p, method), want, rtol=1e-12, atol=1e-15)


def test_nan_p_values_are_not_tests() -> None:
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    got = adjust_pvalues(p, "holm")
    assert np.isnan(got[[1, 4]]).all()
    np.testing.assert_allclose(got[[0, 2, 3]], multipletests(p[[0, 2, 3]], method="holm")[1])


@pytest.mark.parametrize("df", [2.0, 10.0, 200.0])
def test_min_detectable_effect_has_80_percent_power(df: float) -> None:
    """At the MDE, the exact power of the two-sided t-test (noncentral t) is about 0.8."""
    se = 1.7
    mde = min_detectable_effect(se, df)
    crit = stats.t.ppf(0.975, df)
    power = stats.nct.sf(crit, df, mde / se) + stats.nct.cdf(-crit, df, mde / se)
    assert power == pytest.approx(0.8, abs=0.03 if df > 2 else 0.06)


def test_intervals_stay_inside_the_bounds() -> None:
    # accuracy near the ceiling with a wild seed: the t-interval would pass 100
    iv = seed_t_interval([99.0, 93.0, 100.0], bounds=(0.0, 100.0))
    assert iv.high == 100.0 and 0 <= iv.low < iv.estimate
    raw = seed_t_interval([99.0, 93.0, 100.0])
    assert raw.high > 100.0  # what clipping prevents
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = (rng.random((3, 300)) < rng.uniform(0.9, 1.0)).astype(float) * 100
        two = two_level_interval(x, np.arange(300), bounds=(0.0, 100.0))
        assert 0.0 <= two.low <= two.estimate <= two.high <= 100.0


def test_a_single_seed_gives_an_item_level_interval() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((1, 500))
    iv = two_level_interval(x, np.arange(500))
    se = x.std(ddof=1) / math.sqrt(500)
    assert iv.n_seeds == 1 and iv.se == pytest.approx(se, rel=0.1) and math.isnan(iv.seed_var)


def test_clustering_widens_the_interval_by_the_design_effect() -> None:
    """Six identical language copies of each row: clustered, the interval is that of one copy."""
    rng = np.random.default_rng(2)
    one = rng.random((3, 200))
    x = np.tile(one, 6)
    clustered = two_level_interval(x, np.tile(np.arange(200), 6))
    alone = two_level_interval(one, np.arange(200))
    naive = two_level_interval(x, np.arange(1200))
    assert clustered.item_var == pytest.approx(alone.item_var, rel=1e-9)
    assert naive.item_var < clustered.item_var / 3  # treating copies as new items: ~6x smaller


def test_cluster_permutation_test_holds_its_level() -> None:
    """Under the null (no difference; strong dependence between languages) p < 0.05 in about 5%
    of data sets; ignoring the clusters it would reject far more often."""
    rng = np.random.default_rng(3)
    clusters = np.tile(np.arange(60), 4)
    rej = rej_naive = 0
    trials = 300
    for _ in range(trials):
        row = rng.normal(size=60)
        d = np.tile(row, 4) + 0.2 * rng.normal(size=240)  # symmetric around 0
        rej += cluster_permutation_test(d, clusters, n_resamples=999, seed=1) < 0.05
        rej_naive += cluster_permutation_test(d, np.arange(240), n_resamples=999, seed=1) < 0.05
    assert rej / trials == pytest.approx(0.05, abs=0.035)
    assert rej_naive / trials > 0.08
