"""Bad input gets one line naming the file and line or the field, a non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

XSTILTS = [sys.executable, "-m", "xstilts.cli.main"]


def cli(
    *args: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    e = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [*XSTILTS, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=600
    )


def one_line_error(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode != 0, res.stdout
    err = res.stderr.strip()
    assert "Traceback" not in err and "Traceback" not in res.stdout, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_tasks_json_lists_foundation_tasks():
    res = cli("tasks", "--json")
    assert res.returncode == 0, res.stderr
    tasks = {t["name"]: t for t in json.loads(res.stdout)["tasks"]}
    assert len(tasks["xnli"]["languages"]) == 15
    assert len(tasks["pawsx"]["languages"]) == 7
    assert set(tasks["umsab"]["languages"]) == {"en", "ar", "de", "es", "fr", "hi", "it", "pt"}
    assert set(tasks["marc"]["languages"]) == {"en", "zh", "ja"}
    for name in ("mnli", "qqp", "anli-r1", "anli-r2", "anli-r3", "sst2", "imdb"):
        assert tasks[name]["family"] == "classification"
        assert "intermediate" in tasks[name]["role"]
    for name in ("xnli", "pawsx", "umsab", "marc"):
        assert "target" in tasks[name]["role"]


def test_unknown_config_key(tmp_path):
    cfg = write(tmp_path / "c.yaml", "target: xnli\nphases:\n  target: {learnin_rate: 1e-5}\n")
    one_line_error(cli("plan", str(cfg)), str(cfg), "phases.target.learnin_rate", "unknown key")


def test_union_fields_name_the_field_not_pydantic_tags(tmp_path):
    # a value that fits no member of a union: one message at the field's own path
    cfg = write(tmp_path / "c.yaml", "target: xnli\nphases:\n  target: {eval_every: often}\n")
    line = one_line_error(
        cli("plan", str(cfg)), "phases.target.eval_every: Input should be 'epoch' or 'end', or a"
    )
    assert "literal[" not in line and "int:" not in line
    cfg = write(tmp_path / "r.yaml", "retrieval: {tasks: [tatoeba], languages: de}\n")
    one_line_error(
        cli("plan", str(cfg)), "retrieval.languages: Input should be a valid list, or a valid dict"
    )


def test_invalid_yaml_names_line(tmp_path):
    cfg = write(tmp_path / "c.yaml", "target: xnli\nseeds: [1, 2\nmodel: x\n")
    one_line_error(cli("plan", str(cfg)), f"{cfg}:")


def test_unknown_task(tmp_path):
    cfg = write(tmp_path / "c.yaml", "target: xnly\n")
    one_line_error(cli("plan", str(cfg)), "unknown task 'xnly'", "xnli")


def test_unknown_intermediate_task(tmp_path):
    cfg = write(tmp_path / "c.yaml", "target: xnli\nintermediate: [mlni]\n")
    one_line_error(cli("plan", str(cfg)), "intermediate", "unknown task 'mlni'")


def test_unknown_language(tmp_path):
    cfg = write(tmp_path / "c.yaml", "target: xnli\nevaluation: {languages: [de, xx]}\n")
    one_line_error(cli("plan", str(cfg)), "evaluation.languages", "xx")


def test_unknown_perturbation_language(tmp_path):
    cfg = write(
        tmp_path / "c.yaml",
        "target: xnli\nperturbations:\n"
        "  - {name: char_swap, params: {rate: 0.1}, languages: [de, qq]}\n",
    )
    one_line_error(cli("plan", str(cfg)), "perturbations[0].languages", "qq")


def test_unknown_model(tmp_path):
    cfg = write(tmp_path / "c.yaml", f"target: xnli\nmodel: {tmp_path}/no-such-model\n")
    one_line_error(cli("plan", str(cfg)), "model", "no-such-model")


def test_missing_config_file(tmp_path):
    one_line_error(cli("plan", str(tmp_path / "nope.yaml")), "nope.yaml", "not found")


def _task_dir(tmp: Path, data_file: str, labels: str = "[neg, pos]") -> Path:
    tdir = tmp / "tasks"
    write(
        tdir / "mytask.yaml",
        f"""
name: mytask
family: classification
languages: [en, de]
labels: {labels}
text_fields: [text_a]
splits:
  train:
    - {{language: en, format: tsv, path: {data_file}, params: {{columns: [text_a, label], labels: {labels}}}}}
  test:
    - {{format: tsv, path: {data_file}, params: {{columns: [text_a, label], labels: {labels}}}}}
""",
    )
    return tdir


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("good\tpos\nbad row with\ttoo\tmany\n", ":2"),  # wrong number of columns, line 2
        ("good\tpos\nfine\tneg\nodd\tmaybe\n", ":3"),  # unknown label, line 3
    ],
)
def test_bad_data_file_names_file_and_line(tmp_path, content, needle, offline_encoder):
    data = write(tmp_path / "data" / "my.tsv", content)
    tdir = _task_dir(tmp_path, str(data))
    cfg = write(
        tmp_path / "c.yaml", "target: mytask\nphases:\n  target: {max_steps: 1, dev_split: null}\n"
    )
    res = cli("run", str(cfg), "--out", str(tmp_path / "out"), env={"XSTILTS_TASKS": str(tdir)})
    one_line_error(res, str(data) + needle)


def test_missing_data_file(tmp_path, offline_encoder):
    tdir = _task_dir(tmp_path, str(tmp_path / "absent.tsv"))
    cfg = write(
        tmp_path / "c.yaml", "target: mytask\nphases:\n  target: {max_steps: 1, dev_split: null}\n"
    )
    res = cli("run", str(cfg), "--out", str(tmp_path / "out"), env={"XSTILTS_TASKS": str(tdir)})
    one_line_error(res, "absent.tsv", "no data for task mytask")


@pytest.mark.slow
def test_finished_results_survive_a_later_failure(tmp_path, offline_encoder):
    """A grid whose second target has a broken file keeps the first target's results, and a rerun
    after the fix reuses them instead of recomputing."""
    data = write(tmp_path / "data" / "my.tsv", "good\tpos\nfine\tneg\n" * 8 + "odd\tmaybe\n")
    tdir = _task_dir(tmp_path, str(data))
    cfg = write(
        tmp_path / "c.yaml",
        """
targets: [demo-sentiment, mytask]
baseline: true
phases:
  target: {max_steps: 2, batch_size: 4, max_length: 32, freeze_embeddings: true, dev_split: null}
evaluation: {max_examples: 8, languages: [en, de]}
""",
    )
    out = tmp_path / "out"
    env = {"XSTILTS_TASKS": str(tdir)}
    one_line_error(cli("run", str(cfg), "--out", str(out), "--no-report", env=env), f"{data}:17")
    rows = json.loads(cli("results", str(out), "--json").stdout)
    assert {r["target"] for r in rows} == {"demo-sentiment"}
    before = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    write(data, "good\tpos\nfine\tneg\n" * 8)
    res = cli("run", str(cfg), "--out", str(out), "--no-report", env=env)
    assert res.returncode == 0, res.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    assert all(after[k] == v for k, v in before.items())  # finished work not redone
    assert {r["target"] for r in json.loads(cli("results", str(out), "--json").stdout)} == {
        "demo-sentiment",
        "mytask",
    }
