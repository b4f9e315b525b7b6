"""Averages on read compare like with like, on a real run (offline encoder, real XNLI).

A perturbation limited to 2 of the 6 evaluated languages: the robustness table's clean and
perturbed columns must both average those 2 languages over the same rows, not the clean score of
all 6 against the perturbed score of 2 (the mismatch that reached the Q2/Q3 study answers).
It reuses the sweep's trained XNLI checkpoint (a model at chance would make any two columns
agree), so it runs with the other real-data robustness runs under ``-m full``; the same property
on a hand-made frame is in tests/report/test_report_tables.py (default suite).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from robust_runs import FOOTING_LANGS, FOOTING_PERTURBED

from xstilts.report.tables import robustness_tables

pytestmark = pytest.mark.full


def test_limited_perturbation_is_compared_on_its_own_languages(runs):
    run = runs.get("footing")
    rows = run.rows()
    assert rows and all(r["language"] != "avg" for r in rows)  # stored averages are not read
    kinds = {(r["kind"], r["perturbation"]) for r in rows if r["metric"] == "accuracy"}
    assert kinds == {("clean", "none"), ("perturbation", "char_substitute@0.5")}
    acc = {
        (r["perturbation"], r["language"]): r
        for r in rows
        if r["metric"] == "accuracy" and r["split"] == "dev"
    }
    assert {lang for p, lang in acc if p == "none"} == set(FOOTING_LANGS)
    assert {lang for p, lang in acc if p != "none"} == set(FOOTING_PERTURBED)
    for lang in FOOTING_PERTURBED:  # the same rows on both sides
        assert acc[("none", lang)]["extra"]["n"] == acc[("char_substitute@0.5", lang)]["extra"]["n"]

    (table,) = robustness_tables(pd.DataFrame(rows), "xnli")
    assert table.columns == ["Clean", "char_substitute@0.5", "Noise gap"]
    assert table.title.endswith("languages " + " ".join(FOOTING_PERTURBED))
    (row,) = table.rows
    clean, noisy, gap = row.cells
    assert clean.mean > 40  # a trained model (chance is 33.3): the columns can disagree
    want_clean = 100 * np.mean([acc[("none", x)]["value"] for x in FOOTING_PERTURBED])
    want_noisy = 100 * np.mean(
        [acc[("char_substitute@0.5", x)]["value"] for x in FOOTING_PERTURBED]
    )
    assert clean.mean == pytest.approx(want_clean)
    assert noisy.mean == pytest.approx(want_noisy)
    assert gap.mean == pytest.approx(want_clean - want_noisy)
    # the all-language clean score is another number: taking it would mix footings
    all_six = 100 * np.mean([acc[("none", x)]["value"] for x in FOOTING_LANGS])
    assert all_six != pytest.approx(want_clean)
    print(table.markdown())
