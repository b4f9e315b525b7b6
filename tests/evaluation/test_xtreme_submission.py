"""XTREME's mock submission through xstilts' scorers and benchmark aggregate gives evaluate.py's
figures: every per-task average of its ``evaluate_test.py`` (SOURCE.txt of the mock submission) and
the overall and category scores ``evaluate.py`` printed on the same files
(``xtreme_official/evaluate_mock_xtreme.json``, see PROVENANCE.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from xstilts.errors import DataError
from xstilts.evaluation.aggregate import aggregate_benchmark, task_scores
from xstilts.evaluation.xtreme_submission import score_submission_task, submission_rows

REF = Path(__file__).parent / "xtreme_official"
# evaluate.py's group names -> the xstilts XTREME group's categories
CATEGORY = {
    "classification": "classification",
    "tagging": "structured_prediction",
    "qa": "question_answering",
    "retrieval": "retrieval",
}


def expected_averages(source: Path) -> dict[str, dict[str, float]]:
    """TASK2AVG_SCORES as SOURCE.txt lists them (``task avg_metric value ...`` lines)."""
    out: dict[str, dict[str, float]] = {}
    block = source.read_text().split("scores x100):")[1].split("XTREME-R")[0]
    for line in block.strip().splitlines():
        task, *rest = line.split()
        out[task] = {rest[i]: float(rest[i + 1]) for i in range(0, len(rest), 2)}
    return out


@pytest.fixture(scope="module")
def mock(shared_data) -> Path:
    return shared_data / "xtreme_mock_submission"


@pytest.fixture(scope="module")
def rows(mock) -> pd.DataFrame:
    return pd.DataFrame(submission_rows(mock / "predictions", mock / "labels", "xtreme"))


def test_every_task_average_of_evaluate_test(mock, rows) -> None:
    expected = expected_averages(mock / "SOURCE.txt")
    assert len(expected) == 9 and expected["udpos"]["avg_f1"] == pytest.approx(70.21746048354693)
    folder = {"bucc2018": "bucc2018"}
    for task, avgs in expected.items():
        part = rows[rows.task == folder.get(task, task)]
        for name, value in avgs.items():
            metric = name.removeprefix("avg_")
            got = part[part.metric == metric]
            assert len(got) == part.language.nunique() > 0, (task, metric)
            assert 100 * got.value.mean() == pytest.approx(value, rel=1e-12, abs=1e-12), (
                task,
                name,
            )


def test_benchmark_score_is_evaluate_py(rows) -> None:
    official = json.loads((REF / "evaluate_mock_xtreme.json").read_text())
    agg = aggregate_benchmark(rows, "xtreme").set_index("metric")
    assert agg.loc["score", "extra"]["complete"] is True
    assert 100 * agg.loc["score", "value"] == pytest.approx(official["all_task"], rel=1e-12)
    for group, cat in CATEGORY.items():
        assert 100 * agg.loc[f"category:{cat}", "value"] == pytest.approx(
            official[group], rel=1e-12
        )
    ts = task_scores(rows, "xtreme").set_index("task")
    for task in ts.index:
        assert 100 * ts.loc[task, "score"] == pytest.approx(official[task]["avg_metric"], rel=1e-12)
    # the old rule (mean of the four category means) is a different number on these files
    cats = [agg.loc[f"category:{c}", "value"] for c in CATEGORY.values()]
    assert abs(100 * sum(cats) / 4 - official["all_task"]) > 0.5


def test_xquad_under_xtreme_is_eleven_languages(rows) -> None:
    assert sorted(rows[rows.task == "xquad"].language.unique()) == sorted(
        "en,es,de,el,ru,tr,ar,vi,th,zh,hi".split(",")
    )


def test_mewslix_map20_of_evaluate_test(mock) -> None:
    langs = "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk".split(",")
    got = score_submission_task(mock / "predictions", mock / "labels", "mewsli-x", langs)
    avg = 100 * sum(v["map"] for v in got.values()) / len(langs)
    text = (mock / "SOURCE.txt").read_text()
    expected = float(re.search(r"mewslix avg_map@20\s+([\d.]+)", text).group(1))
    assert avg == pytest.approx(expected, rel=1e-12)


def test_mismatched_line_counts_fail_naming_the_file(mock, tmp_path) -> None:
    pred = tmp_path / "pred" / "xnli"
    pred.mkdir(parents=True)
    lines = (mock / "predictions/xnli/test-de.tsv").read_text().splitlines()
    (pred / "test-de.tsv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match="test-de.tsv"):
        score_submission_task(tmp_path / "pred", mock / "labels", "xnli", ["de"])


def test_xquad_ro_counts_for_xtreme_r_only(rows) -> None:
    xquad = rows[rows.task == "xquad"]
    ro = xquad[xquad.language == "en"].assign(language="ro", value=0.0)
    both = pd.concat([rows, ro], ignore_index=True)
    x = task_scores(both, "xtreme").set_index("task").loc["xquad"]
    assert x["n_languages"] == 11 and not x["missing"]
    assert x["score"] == task_scores(rows, "xtreme").set_index("task").loc["xquad", "score"]
    r = task_scores(both, "xtreme-r").set_index("task").loc["xquad"]
    assert r["n_languages"] == 12 and r["score"] == pytest.approx(x["score"] * 11 / 12)
