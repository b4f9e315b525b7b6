"""The demo asks the three questions: transfer, robustness (a perturbation and an attack) and
alignment per layer; console and report show the same tables and the same counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from xstilts.experiments.demo import demo_config
from xstilts.experiments.plan import build_plan


def test_demo_plans_all_three_questions():
    cfg, _ = demo_config(None)
    plan = build_plan(cfg)
    kinds = plan.counts()
    assert kinds["train"] == 6 and kinds["attack"] == 4 and kinds["align"] == 2
    attack = next(s for s in plan.steps.values() if s.kind == "attack")
    assert len(attack.params["languages"]) == 9  # the clean average's languages, and English
    perturbed = [s for s in plan.steps.values() if s.params.get("perturbation")]
    assert len(perturbed) == 4 and kinds["evaluate"] == 8
    align = next(s for s in plan.steps.values() if s.kind == "align")
    assert [c["label"] for c in align.params["checkpoints"]] == ["pretrained", "int:demo-nli"]
    assert len(align.params["languages"]["demo-sentiment"]) == 8  # every non-English test language


def test_a_single_cell_gets_no_heatmap(tmp_path):
    from xstilts.report.plots import heatmap
    from xstilts.report.table import Cell, Row, Table

    one = Table("paper", "t", "Intermediate task", ["demo-sentiment"])
    one.rows = [Row("Baseline", [Cell("80.0", mean=80.0)], "baseline"),
                Row("demo-nli", [Cell("+1.0", mean=1.0)])]  # fmt: skip
    assert heatmap(one, tmp_path / "one.png") is None
    two = Table("paper", "t", "Intermediate task", ["a", "b"])
    two.rows = [Row("demo-nli", [Cell("+1.0", mean=1.0), Cell("-2.0", mean=-2.0)])]
    assert heatmap(two, tmp_path / "two.png").is_file()


@pytest.mark.full
def test_demo_end_to_end(tmp_path):
    """``xstilts demo`` as ``make demo`` runs it (minutes on 2 cores)."""
    out = tmp_path / "demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    res = subprocess.run(
        [sys.executable, "-m", "xstilts.cli.main", "demo", "--out", str(out)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    console = res.stdout
    md = (out / "report" / "report.md").read_text()
    # the transfer table, the robustness table with its attack column, alignment per layer
    for section in ("## Main results", "## Robustness", "## Cross-lingual alignment"):
        assert section in md
    assert "attack:greedy@40" in md and "attack:greedy@40" in console
    assert "char_swap@0.2" in md and "char_swap@0.2" in console
    assert "(plots/alignment_layers.png)" in md and "Alignment per layer" in console
    assert "Δ" in console and "demo-nli" in console
    # counts: the console's line and the report's summary say the same
    said = re.search(r"The report counts (\d+) result rows and (\d+) paired", console)
    assert said and f"{said.group(1)} result rows and {said.group(2)} paired" in md
    ran = re.search(r"; (\d+) result rows in ", console)
    assert ran and ran.group(1) == said.group(1)


def test_console_and_report_count_rows_the_same_way():
    import pandas as pd

    from xstilts.report.build import _summary_lines, count_line
    from xstilts.report.data import prepare

    rows = [{"step": "evaluate-aa", "model": "m", "intermediate": "none", "target": "t",
             "task": "t", "language": "de", "metric": "accuracy", "value": 0.5, "seed": 1,
             "run_id": "r", "split": "test", "perturbation": "none"}] * 3  # fmt: skip
    rows += [{**rows[0], "step": "compare-evaluate-aa-evaluate-bb", "metric": "mcnemar_p"}] * 2
    df = pd.DataFrame(rows)
    assert count_line(df) == "3 result rows and 2 paired comparisons with the baseline"
    assert _summary_lines(prepare(df), "x", count_line(df))[0].startswith(count_line(df))
    assert count_line(df[df.step == "evaluate-aa"]) == "3 result rows"
