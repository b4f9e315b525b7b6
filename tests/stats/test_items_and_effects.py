"""Per-item outcomes read from saved predictions, and the effect tables built on them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from itemkit import ROWS, SEEDS, make_run

from xstilts.experiments.results import ResultsStore
from xstilts.report.effects import effect_tables
from xstilts.stats import two_level_interval
from xstilts.stats.items import item_frame, source_items


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("items"))


def test_source_items() -> None:
    # row-based files: the row number is the source row, whatever the language's file stem
    assert source_items(["dev-de-0", "dev-de-7"], "de", True) == ["row/0", "row/7"]
    assert source_items(["dev-fr-7"], "fr", True) == ["row/7"]
    # dataset ids (XQuAD/MLQA keep them across languages)
    assert source_items(["5726-a", "57x"], "de", True) == ["id/5726-a", "id/57x"]
    # not parallel: every (language, id) is its own item
    assert source_items(["dev-de-0"], "de", False) == ["de/dev-de-0"]


def test_item_frame_scores_and_clusters(run) -> None:
    items = item_frame(run)
    assert len(items) == 2 * len(SEEDS) * 2 * 3 * ROWS  # set-ups x seeds x conditions x langs
    rows = ResultsStore(run).frame()
    # per-item accuracy averages back to the stored per-language score
    got = items.groupby(["intermediate", "seed", "perturbation", "language"])["value"].mean()
    stored = rows[rows["language"] != "avg"].set_index(
        ["intermediate", "seed", "perturbation", "language"]
    )["value"]
    pd.testing.assert_series_equal(got.sort_index(), stored.sort_index(), check_names=False)
    # xnli is parallel: de row 5 and fr row 5 are one cluster
    one = items[(items["seed"] == 1) & (items["intermediate"] == "none")]
    one = one[one["perturbation"] == "none"].set_index("item")["cluster"]
    assert one["de/dev-de-5"] == one["fr/dev-fr-5"] == "row/5"


def test_effect_cells_are_two_level(run) -> None:
    df = ResultsStore(run).frame()
    items = item_frame(run)
    score, gap, _ = effect_tables(df, "xnli", {"xnli": "accuracy"}, items=items)
    clean = score.rows[0].cells[0]
    assert clean.note == ""  # not the seed-only fallback
    # by hand: seeds x (de, fr items) differences, clustered by row, languages weighted equally
    sel = items[(items["perturbation"] == "none") & (items["language"] != "en")]
    piv = sel.pivot_table(index="seed", columns=["intermediate", "item"], values="value")
    d = (piv["pawsx"] - piv["none"]) * 100
    # cluster codes in the order the report gives them (sorted keys): the bootstrap draws the
    # same resamples only for the same coding
    _, clusters = np.unique([f"row/{c.rsplit('-', 1)[1]}" for c in d.columns], return_inverse=True)
    iv = two_level_interval(d.to_numpy(), clusters, bounds=(-100, 100))
    assert clean.mean == pytest.approx(iv.estimate) and clean.ci_low == pytest.approx(iv.low)
    assert clean.ci_high == pytest.approx(iv.high) and clean.p_value == pytest.approx(iv.p_value)
    # the seed-only t-interval is kept as the secondary interval, and differs
    per_seed = d.mean(axis=1)
    half = 4.302652729749462 * per_seed.std(ddof=1) / math.sqrt(3)
    assert clean.seed_ci_low == pytest.approx(per_seed.mean() - half)
    assert clean.seed_ci_high == pytest.approx(per_seed.mean() + half)
    # the test is corrected within the table and the power is stated
    assert not math.isnan(clean.p_adjusted) and clean.p_adjusted >= clean.p_value
    assert any(n.startswith("Power: minimum detectable effect") for n in score.notes)
    assert any("Holm" in n for n in score.notes)
    assert all(not math.isnan(c.mde) for r in gap.rows for c in r.cells)


def test_without_items_the_seed_interval_is_flagged(run) -> None:
    df = ResultsStore(run).frame()
    score = effect_tables(df, "xnli", {"xnli": "accuracy"})[0]
    c = score.rows[0].cells[0]
    assert c.note == "‡" and c.ci_low == pytest.approx(c.seed_ci_low)
    assert any(n.startswith("‡ No per-item outcomes") for n in score.notes)


def test_gap_by_group_is_two_level(run) -> None:
    from xstilts.report.effects import grouped_gap_table

    df = ResultsStore(run).frame()
    items = item_frame(run)
    t = grouped_gap_table(df, "xnli", {"xnli": "accuracy"}, by="language", items=items)
    assert t.columns == ["de", "fr"]
    for r in t.rows:
        for c in r.cells:
            assert c.note == "" and c.mark == "" and math.isnan(c.p_value)  # a level, untested
            assert -100 <= c.ci_low <= c.mean <= c.ci_high <= 100
            # the two-level interval adds the item level: never narrower than the seed interval
            assert c.ci_low <= c.seed_ci_low + 1e-9 and c.ci_high >= c.seed_ci_high - 1e-9
    # by hand for the baseline in de: clean − perturbed per item, clustered by row
    sel = items[(items["intermediate"] == "none") & (items["language"] == "de")]
    piv = sel.pivot_table(index="seed", columns=["perturbation", "item"], values="value")
    d = (piv["none"] - piv["char_swap@0.1"]) * 100
    iv = two_level_interval(d.to_numpy(), np.arange(d.shape[1]), bounds=(-100, 100))
    base = t.rows[0].cells[0]
    assert base.mean == pytest.approx(iv.estimate)
    assert base.ci_high - base.ci_low == pytest.approx(iv.high - iv.low, rel=0.15)
