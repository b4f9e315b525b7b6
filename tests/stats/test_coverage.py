"""Coverage of the two-level interval on simulated data with a known effect and cluster structure.

The design mirrors the committed small studies: 3 seeds per set-up, 200 source items translated
into 6 languages that share the items' difficulty, a baseline and a treated model evaluated on
the same items. Outcomes are probit: item i of source row r in language l is answered correctly
by model m trained with seed s when ``μ_m + a_{m,s} + h_r·[treated] + b_r + c_{l,r} + ε > 0``
(``a`` seed offset, ``h`` how much the treatment helps this source row, ``b`` difficulty shared by
the languages, ``c`` per-language difficulty, ``ε`` standard normal). The true effect is then
exact: ``Φ((μ1)/√(1+σa²+σh²+τ²)) − Φ(μ0/√(1+σa²+τ²))``.

Variances come from the committed study runs (docs/studies/*/tables): the spread over seeds of the
per-seed Δ (effect tables, ``std``) and the per-seed item-sampling standard error of Δ (paired
tables: width of the 95% bootstrap interval / 3.92); the second setting doubles the seed variance.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from xstilts.stats import naive_pooled_interval, seed_t_interval, two_level_interval

ROOT = Path(__file__).resolve().parents[2]
SEEDS, ROWS, LANGS, SIMS = 3, 200, 6, 2000
MU0, DELTA, SD_HELP = 0.0, 0.1, 0.4  # latent baseline, mean treatment effect, its spread over rows


def committed_variances() -> tuple[float, float]:
    """(median seed sd of per-seed Δ, median per-seed item SE of Δ), in points, from the
    committed study tables (clean and perturbed conditions; attacks are not item-level)."""
    eff = pd.concat(
        pd.read_csv(f)
        for f in glob.glob(str(ROOT / "docs/studies/*/tables/effects_*.csv"))
        if "gap_" not in Path(f).name
    )
    eff = eff[~eff["column"].str.startswith("attack")]
    pai = pd.concat(
        pd.read_csv(f) for f in glob.glob(str(ROOT / "docs/studies/*/tables/paired_*.csv"))
    )
    pai = pai[~pai["column"].str.startswith("attack")]
    return float(eff["std"].median()), float(((pai["ci_high"] - pai["ci_low"]) / 3.92).median())


def simulate(seed_var_factor: float, rng: np.random.Generator) -> dict[str, float]:
    seed_sd, item_se = committed_variances()
    n = ROWS * LANGS
    # item difficulty: the binary correlation of the two models on an item that gives the
    # observed per-seed item SE at accuracy 0.5 (var(y1 − y0) = 0.5 (1 − ρ)), probit latent
    rho = 1 - 2 * (item_se / 100 * np.sqrt(n)) ** 2
    r = np.sin(np.pi / 2 * rho)
    tau2 = r / (1 - r)
    sb, sc = np.sqrt(0.75 * tau2), np.sqrt(0.25 * tau2)  # most difficulty shared by languages
    k = np.sqrt(1 + tau2)
    slope = norm.pdf(MU0 / k) / k  # d accuracy / d latent offset
    # the per-seed Δ varies over seeds by the seed effect and by the seed × item interaction
    # (about the per-seed item variance): the seed effect makes up the rest of the target
    target = seed_var_factor * seed_sd**2
    true_seed_sd = np.sqrt(max(target - item_se**2, 0.25 * target)) / 100
    sa = true_seed_sd / (np.sqrt(2) * slope)
    true = norm.cdf((MU0 + DELTA) / np.sqrt(k**2 + sa**2 + SD_HELP**2)) - norm.cdf(
        MU0 / np.sqrt(k**2 + sa**2)
    )
    clusters = np.tile(np.arange(ROWS), LANGS)
    hits = {"two-level": 0, "seed-t": 0, "naive": 0}
    per_seed_sd, per_seed_se = [], []
    for _ in range(SIMS):
        z = (rng.normal(0, sb, ROWS)[None, :] + rng.normal(0, sc, (LANGS, ROWS))).ravel()
        h = np.tile(rng.normal(0, SD_HELP, ROWS), LANGS)
        a = rng.normal(0, sa, (2, SEEDS))
        y0 = MU0 + a[0][:, None] + z + rng.standard_normal((SEEDS, n)) > 0
        y1 = MU0 + DELTA + h + a[1][:, None] + z + rng.standard_normal((SEEDS, n)) > 0
        d = y1.astype(float) - y0
        iv = two_level_interval(d, clusters, bounds=(-1, 1), n_resamples=1000)
        seed_iv = seed_t_interval(d.mean(axis=1), bounds=(-1, 1))
        naive = naive_pooled_interval(d, bounds=(-1, 1))
        for name, x in (("two-level", iv), ("seed-t", seed_iv), ("naive", naive)):
            hits[name] += x.low <= true <= x.high
        per_seed_sd.append(d.mean(axis=1).std(ddof=1))
        per_seed_se.append(d.std(axis=1, ddof=1).mean() / np.sqrt(n))
    out = {name: h / SIMS for name, h in hits.items()}
    out["seed_sd"] = 100 * float(np.sqrt(np.mean(np.square(per_seed_sd))))
    out["item_se"] = 100 * float(np.mean(per_seed_se))
    out["target_seed_sd"] = seed_sd * np.sqrt(seed_var_factor)
    out["target_item_se"] = item_se
    return out


@pytest.mark.parametrize("seed_var_factor", [1.0, 2.0], ids=["committed", "seed-variance-x2"])
def test_two_level_interval_covers_the_true_effect(seed_var_factor: float, record_property):
    cov = simulate(seed_var_factor, np.random.default_rng(20261203 + int(seed_var_factor)))
    record_property("coverage", cov)
    print(f"\nseed variance ×{seed_var_factor:g}: {cov}")
    # the simulation reproduces the committed runs' variances (so the check is about them)
    assert cov["item_se"] == pytest.approx(cov["target_item_se"], rel=0.2)
    assert cov["seed_sd"] == pytest.approx(cov["target_seed_sd"], rel=0.25)
    assert 0.93 <= cov["two-level"] <= 0.97, cov
    # pooling every (seed, example) as independent under-covers, by this much
    assert cov["naive"] < 0.80 and cov["two-level"] - cov["naive"] > 0.15, cov
