"""The report's XTREME / XTREME-R section shows evaluate.py's task scores and benchmark score."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from xstilts.evaluation.xtreme_submission import submission_rows
from xstilts.report.build import write_report_frame
from xstilts.report.leaderboard import leaderboard_tables

OFFICIAL = json.loads(
    (Path(__file__).parents[1] / "evaluation/xtreme_official/evaluate_mock_xtreme.json").read_text()
)


@pytest.fixture(scope="module")
def mock_rows(shared_data) -> pd.DataFrame:
    mock = shared_data / "xtreme_mock_submission"
    return pd.DataFrame(submission_rows(mock / "predictions", mock / "labels", "xtreme"))


def test_xtreme_table_is_evaluate_py(mock_rows) -> None:
    (table,) = [t for t in leaderboard_tables(mock_rows) if t.name == "leaderboard_xtreme"]
    (row,) = table.rows
    cells = dict(zip(table.columns, row.cells, strict=True))
    for task, cell in cells.items():
        if task in OFFICIAL:  # task scores with English included, QA (EM + F1) / 2
            assert cell.mean == pytest.approx(OFFICIAL[task]["avg_metric"], rel=1e-12)
    assert cells["XTREME score"].mean == pytest.approx(OFFICIAL["all_task"], rel=1e-12)
    assert cells["XTREME score"].text == f"{OFFICIAL['all_task']:.1f}"


def test_missing_task_leaves_no_benchmark_score(mock_rows, tmp_path) -> None:
    part = mock_rows[mock_rows.task != "tatoeba"]
    (table,) = [t for t in leaderboard_tables(part) if t.name == "leaderboard_xtreme"]
    assert table.rows[0].cells[-1].empty
    assert any("missing tatoeba" in n for n in table.notes)
    # XTREME-R averages XQuAD over 12 languages: the 11 of the mock leave it incomplete
    (r,) = [t for t in leaderboard_tables(mock_rows) if t.name == "leaderboard_xtreme-r"]
    assert r.rows[0].cells[-1].empty and any("xquad lacks ro" in n for n in r.notes)
    written = write_report_frame(mock_rows, tmp_path / "report")
    md = written["report.md"].read_text(encoding="utf-8")
    assert "XTREME and XTREME-R scores" in md and f"{OFFICIAL['all_task']:.1f}" in md


def test_printed_task_averages_include_english() -> None:
    from xstilts.cli.main import _print_summary, out

    rows = [
        {
            "task": "pawsx",
            "target": "pawsx",
            "intermediate": "none",
            "split": "test",
            "perturbation": "none",
            "metric": "accuracy",
            "language": lang,
            "value": v,
            "seed": 1,
            "step": "s",
        }
        for lang, v in [("en", 0.9), ("de", 0.6), ("fr", 0.6)]
    ]
    rows.append({**rows[0], "language": "avg", "value": 0.6})  # a stored non-English average
    with out.capture() as cap:
        _print_summary(pd.DataFrame(rows))
    assert "70.0" in cap.get() and "60.0" not in cap.get()
