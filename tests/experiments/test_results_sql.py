"""The results loader completes old rows, and ``xstilts results --sql`` queries them with DuckDB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from xstilts.experiments.results import ResultsStore

OLD = {  # a row as written before kinds existed
    "run_id": "r",
    "config_hash": "c",
    "model": "m",
    "intermediate": "none",
    "target": "xnli",
    "seed": 1,
    "task": "xnli",
    "split": "test",
    "step": "evaluate-1",
    "extra": {},
}


def _store(tmp_path: Path) -> Path:
    rows = [
        {**OLD, "language": "de", "perturbation": "none", "metric": "accuracy", "value": 0.7},
        {**OLD, "language": "avg", "perturbation": "none", "metric": "accuracy", "value": 0.1},
        {**OLD, "language": "de", "perturbation": "char_swap@0.2", "metric": "accuracy",
         "value": 0.6, "step": "evaluate-2"},
        {**OLD, "language": "de", "perturbation": "attack:greedy@200", "value": 0.3,
         "metric": "accuracy_under_attack", "step": "attack-3"},
        {**OLD, "language": "de", "perturbation": "script:x", "metric": "accuracy",
         "value": 0.5, "step": "evaluate-4"},
    ]  # fmt: skip
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "old.json").write_text(json.dumps(rows), encoding="utf-8")
    return tmp_path


def test_loader_infers_kinds_and_params_of_old_rows_and_drops_stored_averages(tmp_path):
    rows = ResultsStore(_store(tmp_path)).rows()
    got = {r["perturbation"]: (r["kind"], r["params"]) for r in rows}
    assert got == {
        "none": ("clean", {}),
        "char_swap@0.2": ("perturbation", {"name": "char_swap", "rate": 0.2}),
        "attack:greedy@200": ("attack", {"name": "greedy", "query_budget": 200}),
        "script:x": ("perturbation", {"name": "script:x"}),  # a custom label: its name only
    }
    assert all(r["language"] != "avg" for r in rows)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "xstilts.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_results_sql_answers_and_bad_sql_is_one_line(tmp_path):
    out = _store(tmp_path)
    q = (
        "SELECT perturbation, kind, json_extract(params, '$.rate')::DOUBLE AS rate "
        "FROM results ORDER BY perturbation"
    )
    res = _cli("results", str(out), "--sql", q, "--json")
    assert res.returncode == 0, res.stderr
    got = [(r["perturbation"], r["kind"], r["rate"]) for r in json.loads(res.stdout)]
    assert got == [
        ("attack:greedy@200", "attack", None),
        ("char_swap@0.2", "perturbation", 0.2),
        ("none", "clean", None),
        ("script:x", "perturbation", None),
    ]  # the stored avg row is not there
    bad = _cli("results", str(out), "--sql", "SELEC nothing")
    assert bad.returncode != 0
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "--sql" in lines[0] and "Traceback" not in bad.stderr, bad.stderr
