"""The numbers in the report's tables, checked against hand computations on the fixture."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.report import (
    aggregate_table,
    alignment_curves,
    alignment_table,
    attack_table,
    paper_table,
    per_language_table,
    robustness_table,
)
from xstilts.report.stats import significance_mark, summarize
from xstilts.report.table import Table
from xstilts.report.tables import robustness_tables


def cell(table: Table, row: str, col: str):
    r = next(r for r in table.rows if r.label == row)
    return r.cells[table.columns.index(col)]


def test_paper_table_layout(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df)
    assert [r.label for r in t.rows] == ["Baseline", "mnli", "squad"]
    assert t.rows[0].kind == "baseline"
    assert t.columns == ["pawsx", "xnli", "Avg"]  # alignment task 'tatoeba' is not a column


def test_paper_baseline_is_absolute(results_df: pd.DataFrame) -> None:
    # non-English average (de, fr), computed on read; the stored avg rows are ignored
    t = paper_table(results_df, source=False)
    c = cell(t, "Baseline", "xnli")  # seeds: 0.700, 0.720 (test split; dev rows are lower)
    assert c.text == "71.0 ± 1.4"
    assert c.mean == pytest.approx(71.0)
    assert c.std == pytest.approx(math.sqrt(2))
    assert c.mark == ""
    # the default average includes English, as XTREME's task scores do: en = de/fr mean + 0.1
    c = cell(paper_table(results_df), "Baseline", "xnli")
    assert c.mean == pytest.approx(71.0 + 10 / 3)
    assert any("en de fr" in n for n in paper_table(results_df).notes)


def test_stored_avg_rows_are_not_read(results_df: pd.DataFrame) -> None:
    """A stored ``avg`` row that disagrees with its languages changes nothing."""
    bent = results_df.copy()
    bent.loc[bent["language"] == "avg", "value"] = 0.0
    a, b = paper_table(results_df, source=False), paper_table(bent, source=False)
    assert [c.text for r in a.rows for c in r.cells] == [c.text for r in b.rows for c in r.cells]


def test_average_needs_the_same_languages_on_both_sides(results_df: pd.DataFrame) -> None:
    """The mnli set-up lost French in seed 2: every row's average drops French, so the
    baseline and mnli are compared on German only (not de+fr vs de)."""
    d = results_df[
        ~(
            (results_df["intermediate"] == "mnli")
            & (results_df["seed"] == 2)
            & (results_df["language"] == "fr")
        )
    ]
    t = paper_table(d, source=False)
    c = cell(t, "mnli", "xnli")  # de: avg + 0.01 for both -> Δ as before
    assert c.mean == pytest.approx(np.mean([75.0 - 70.0, 77.04 - 72.0]))
    base = cell(t, "Baseline", "xnli")
    assert base.mean == pytest.approx(np.mean([71.0, 73.0]))  # German only: 0.71, 0.73
    assert any("1 language every row has: de" in n for n in t.notes)


def test_paper_delta_and_significance_by_hand(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df)
    # mnli on xnli: per-seed Δ = 5.0, 5.04 points
    c = cell(t, "mnli", "xnli")
    d = np.array([75.0 - 70.0, 77.04 - 72.0])
    assert c.mean == pytest.approx(d.mean())
    assert c.std == pytest.approx(d.std(ddof=1))
    assert c.text == f"{d.mean():+.1f} ± {d.std(ddof=1):.1f}" == "+5.0 ± 0.0"
    p = stats.ttest_rel([0.750, 0.7704], [0.700, 0.720]).pvalue
    assert 0.001 < p < 0.01 and c.p_value == pytest.approx(p) and c.mark == "**"
    # mnli on pawsx: Δ = 2.0, 2.2 -> 0.01 <= p < 0.05
    c = cell(t, "mnli", "pawsx")
    assert c.text == "+2.1 ± 0.1" and c.mark == "*"
    assert 0.01 < c.p_value < 0.05
    # squad on xnli: Δ = +1.0, -0.5 -> not significant, no mark
    c = cell(t, "squad", "xnli")
    assert c.mean == pytest.approx(0.25)
    assert c.std == pytest.approx(np.std([1.0, -0.5], ddof=1))
    assert c.p_value > 0.05 and c.mark == ""
    # squad on pawsx: Δ = -1.0, -3.0
    c = cell(t, "squad", "pawsx")
    assert c.text == "-2.0 ± 1.4" and c.mark == ""


def test_paper_aggregate_column_is_seedwise_mean_over_targets(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df, source=False)
    base = np.array([(0.700 + 0.800) / 2, (0.720 + 0.810) / 2]) * 100
    mnli = np.array([(0.750 + 0.820) / 2, (0.7704 + 0.832) / 2]) * 100
    c = cell(t, "Baseline", "Avg")
    assert c.mean == pytest.approx(base.mean()) and c.std == pytest.approx(base.std(ddof=1))
    c = cell(t, "mnli", "Avg")
    d = mnli - base
    assert c.mean == pytest.approx(d.mean()) and c.std == pytest.approx(d.std(ddof=1))
    p = stats.ttest_rel(mnli, base).pvalue
    assert c.mark == significance_mark(p) == "*"


def test_paper_best_per_column_bold(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df)
    for col in t.columns:
        bold = [r.label for r in t.rows if r.cells[t.columns.index(col)].bold]
        assert bold == ["mnli"], col


def test_paper_footnotes_mention_test(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df)
    notes = " ".join(t.notes)
    assert "paired t-test" in notes.lower()
    assert "xnli: accuracy (test)" in notes
    assert "One seed" not in notes


def test_one_seed_has_no_marks_and_says_so(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df[results_df["seed"] == 1])
    for r in t.rows:
        for c in r.cells:
            assert c.mark == "" and "±" not in c.text
    assert cell(t, "mnli", "xnli").text == "+5.0"
    assert any("one seed" in n.lower() and "significance" in n.lower() for n in t.notes)
    assert not any("paired t-test" in n.lower() for n in t.notes)


def test_unshared_seeds_are_flagged_not_tested(results_df: pd.DataFrame) -> None:
    df = results_df.copy()
    df.loc[df["intermediate"] == "squad", "seed"] += 10
    t = paper_table(df)
    c = cell(t, "squad", "xnli")
    assert c.note == "†" and c.mark == ""
    assert c.mean == pytest.approx((71.0 + 71.5) / 2 - 71.0)
    assert any("†" in n for n in t.notes)
    assert cell(t, "mnli", "xnli").mark == "**"


def test_dev_split_used_when_no_test(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df[results_df["split"] == "dev"], source=False)
    assert cell(t, "Baseline", "xnli").text == "51.0 ± 1.4"  # dev rows are test - 0.2
    assert "xnli: accuracy (dev)" in " ".join(t.notes)


def test_main_metric_mapping(results_df: pd.DataFrame) -> None:
    t = paper_table(results_df, {"xnli": "f1"})
    assert cell(t, "Baseline", "xnli").text == "50.0 ± 0.0"
    assert cell(t, "mnli", "xnli").mark == ""  # constant differences: not testable, no mark
    assert "xnli: f1 (test)" in " ".join(t.notes)


def test_first_metric_when_no_accuracy() -> None:
    df = pd.DataFrame(
        [
            {
                "model": "m",
                "intermediate": i,
                "target": "ner",
                "task": "ner",
                "seed": 1,
                "language": "de",
                "split": "test",
                "perturbation": "none",
                "metric": "f1",
                "value": v,
                "run_id": "r",
                "config_hash": "h",
                "step": "",
                "extra": {},
            }
            for i, v in (("none", 0.6), ("mnli", 0.65))
        ]
    )
    t = paper_table(df)
    assert t.columns == ["ner"]  # one target: no aggregate column
    assert cell(t, "mnli", "ner").text == "+5.0"


def test_aggregate_table_ranks(results_df: pd.DataFrame) -> None:
    t = aggregate_table(results_df)
    assert [r.label for r in t.rows] == ["mnli", "squad"]
    assert t.rows[0].cells[1].text == "2/2"
    assert t.rows[1].cells[2].text.startswith("xnli")


def test_per_language_by_hand(results_df: pd.DataFrame) -> None:
    t = per_language_table(results_df, "xnli")
    assert t.columns == ["en", "de", "fr", "avg", "avg non-en"]  # averages computed on read
    c = cell(t, "Baseline", "avg non-en")  # (de + fr) / 2 = 0.70, 0.72
    assert c.mean == pytest.approx(71.0)
    assert cell(t, "Baseline", "avg").mean == pytest.approx(71.0 + 10 / 3)
    assert cell(t, "Baseline", "de").text == "72.0 ± 1.4"
    c = cell(t, "mnli", "fr")  # 0.74, 0.7604
    assert c.mean == pytest.approx(75.02) and c.std == pytest.approx(np.std([74.0, 76.04], ddof=1))
    c = cell(t, "squad", "en")  # 0.81, 0.815
    assert c.text == "81.2 ± 0.4"
    assert all(r.cells[j].bold == (r.label == "mnli") for r in t.rows for j in range(5))


def test_robustness_by_hand(results_df: pd.DataFrame) -> None:
    noise, attacks = robustness_tables(results_df, "xnli")
    # perturbations ran on English only: Clean is English too, and attacks have their own table
    assert noise.columns == ["Clean", "char_swap@0.1", "char_swap@0.2", "Noise gap"]
    assert "languages en" in noise.title
    c = cell(noise, "Baseline", "Clean")  # English clean: 0.80, 0.82
    half = stats.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2)
    assert c.ci_low == pytest.approx(81.0 - half) and c.ci_high == pytest.approx(81.0 + half)
    assert c.text == f"81.0 ± 1.4 [{81.0 - half:.1f}, {81.0 + half:.1f}]"
    gaps = [80 - np.mean([80, 74]), 82 - np.mean([81, 76])]  # random noise only
    g = cell(noise, "Baseline", "Noise gap")
    assert g.mean == pytest.approx(np.mean(gaps)) and g.std == pytest.approx(np.std(gaps, ddof=1))
    assert g.bold is False and cell(noise, "mnli", "Noise gap").bold is True  # smaller is better
    assert attacks.columns == ["Clean (attacked rows)", "attack:greedy@200", "Attack gap"]
    assert cell(attacks, "Baseline", "attack:greedy@200").mean == pytest.approx(32.0)
    # the attack's own rows before the attack (0.80, 0.84), not the clean evaluation
    assert cell(attacks, "Baseline", "Clean (attacked rows)").mean == pytest.approx(82.0)
    assert cell(attacks, "Baseline", "Attack gap").mean == pytest.approx(50.0)
    gt = robustness_tables(results_df, "xnli", gap=True)[0]
    assert cell(gt, "Baseline", "char_swap@0.2").mean == pytest.approx(np.mean([80 - 74, 82 - 76]))
    assert [p.get("rate") for p in noise.column_params] == [None, 0.1, 0.2, None]


def test_robustness_limited_perturbation_uses_its_languages(results_df: pd.DataFrame) -> None:
    """A perturbation on German only is compared with German clean scores, not with the
    English or all-language ones; a language whose rows differ in size is not compared."""
    de = results_df[results_df["perturbation"] == "char_swap@0.1"].copy()
    de["language"] = "de"
    de["value"] = de["value"] - 0.1
    d = pd.concat([results_df[results_df["perturbation"] == "none"], de])
    (t,) = robustness_tables(d, "xnli")
    assert "languages de" in t.title
    assert cell(t, "Baseline", "Clean").mean == pytest.approx(72.0)  # de clean: 0.71, 0.73
    gap = cell(t, "Baseline", "Noise gap").mean
    assert gap == pytest.approx(np.mean([71 - 70, 73 - 71]))
    d2 = d.copy()
    d2["extra"] = [
        {"n": 50 if p != "none" else 80} if lang == "de" else {}
        for p, lang in zip(d2["perturbation"], d2["language"], strict=True)
    ]
    assert robustness_tables(d2, "xnli") == []  # other rows: nothing to compare


def test_robustness_single_seed_has_no_interval(results_df: pd.DataFrame) -> None:
    t = robustness_table(results_df[results_df["seed"] == 2], "xnli")
    c = cell(t, "mnli", "char_swap@0.2")
    assert c.text == "83.0" and math.isnan(c.ci_low)


def test_attack_table(results_df: pd.DataFrame) -> None:
    t = attack_table(results_df, "xnli")
    assert cell(t, "mnli", "attack:greedy@200 acc.").mean == pytest.approx(43.0)
    sr = cell(t, "mnli", "attack:greedy@200 success")
    assert sr.mean == pytest.approx(57.0) and sr.bold  # lowest success rate is best
    assert cell(t, "Baseline", "attack:greedy@200 queries").text == "135.0 ± 7.1"  # not ×100


def test_alignment_best_layer(results_df: pd.DataFrame) -> None:
    curves = alignment_curves(results_df)
    assert list(dict.fromkeys(curves["checkpoint"])) == ["xlmr-base", "mnli-ckpt"]
    t = alignment_table(results_df)
    assert cell(t, "xlmr-base", "tatoeba_acc").text == "50.0 ± 0.0 (L7)"
    assert cell(t, "mnli-ckpt", "tatoeba_acc").text == "55.0 ± 0.0 (L9)"
    assert t.rows[0].kind == "baseline"


def test_summarize_t_interval() -> None:
    s = summarize([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.ci_low == pytest.approx(2 - half) and s.ci_high == pytest.approx(2 + half)


def test_two_models_compare_within_model(results_df: pd.DataFrame) -> None:
    other = results_df.copy()
    other["model"] = "mbert"
    other["value"] = other["value"] - 0.1
    t = paper_table(pd.concat([results_df, other]))
    labels = [r.label for r in t.rows]
    assert labels[:3] == ["mbert: Baseline", "mbert: mnli", "mbert: squad"]
    assert cell(t, "mbert: mnli", "xnli").mean == pytest.approx(
        cell(t, "xlmr-base: mnli", "xnli").mean
    )
    only = paper_table(pd.concat([results_df, other]), model="mbert", source=False)
    assert cell(only, "Baseline", "xnli").text == "61.0 ± 1.4"
