"""Pearson / Spearman for STS-B."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.metrics_regression import average_ranks


def test_hand_case() -> None:
    out = compute("pearson_spearman", predictions=[1, 2, 3], references=[1, 2, 4])
    assert out["pearson"] == pytest.approx(3 / math.sqrt(2 * 42 / 9))
    assert out["spearman"] == pytest.approx(1.0)
    assert out["score"] == pytest.approx((out["pearson"] + 1.0) / 2)


def test_ties_average_ranks() -> None:
    assert average_ranks(np.array([10.0, 20.0, 10.0, 30.0])).tolist() == [1.5, 3.0, 1.5, 4.0]


def test_against_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    p = rng.integers(0, 6, 200).astype(float)  # many ties
    r = p + rng.normal(0, 2, 200)
    out = compute("pearson_spearman", predictions=p, references=r)
    assert out["pearson"] == pytest.approx(stats.pearsonr(p, r)[0])
    assert out["spearman"] == pytest.approx(stats.spearmanr(p, r)[0])


def test_degenerate() -> None:
    assert math.isnan(
        compute("pearson_spearman", predictions=[1, 1, 1], references=[1, 2, 3])["pearson"]
    )
    with pytest.raises(ConfigError):
        compute("pearson_spearman", predictions=[1], references=[1])
    with pytest.raises(ConfigError):
        compute("pearson_spearman", predictions=[1, 2], references=[1, 2, 3])
    with pytest.raises(ConfigError):
        compute("pearson_spearman", predictions=["a", "b"], references=[1, 2])
