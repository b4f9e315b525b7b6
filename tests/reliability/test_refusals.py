"""What used to run without a word, now refused with one line naming the file, line or field:
duplicate YAML keys, alias expansion to gigabytes of strings, a task defined twice or shadowing a
built-in, an empty model or language list, an ``--out`` holding files xstilts did not write."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from relkit import tiny_config
from test_damaged import cli

from xstilts.errors import ConfigError
from xstilts.experiments.config import load_config, parse_config
from xstilts.tasks import registry
from xstilts.yamlio import load_yaml


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("target: xnli\nseeds: [1]\ntarget: tydiqa\n", 3),
        ("target: xnli\nphases:\n  target: {max_steps: 3, max_steps: 4}\n", 3),
        ("target: xnli\nevaluation:\n  languages: [de]\n  split: test\n  languages: [fr]\n", 5),
    ],
)
def test_duplicate_yaml_keys_are_refused_naming_file_and_line(tmp_path, text, line) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert f"{p}:{line}:" in info.value.one_line() and "duplicate key" in info.value.one_line()


def test_merge_keys_may_still_be_overridden() -> None:
    data = load_yaml("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n", "f.yaml")
    assert data["use"] == {"x": 1, "y": 3}


def test_string_alias_bomb_is_refused_not_a_memory_error(tmp_path: Path) -> None:
    """Few values, a 300 KB string repeated by aliases: 3 GB once hashed or dumped."""
    p = tmp_path / "c.yaml"
    s = "y" * 300_000
    items = ", ".join(["*s"] * 10_000)
    p.write_text(f'target: xnli\nname: &s "{s}"\ntask_overrides: {{x: {{v: [{items}]}}}}\n')
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 10,000,000 characters"):
        load_config(p)
    assert time.perf_counter() - t0 < 5.0


TASK = (
    "name: {name}\nfamily: classification\nlanguages: [en]\nlabels: [a, b]\n"
    "splits: {{train: [{{format: tsv, path: x.tsv}}]}}\n"
)


def _tasks(monkeypatch, *dirs: Path):
    monkeypatch.setenv("XSTILTS_TASKS", ":".join(map(str, dirs)))
    registry._load.cache_clear()
    try:
        return registry.all_tasks()
    finally:
        registry._load.cache_clear()


def test_user_task_shadowing_a_builtin_needs_override(tmp_path, monkeypatch) -> None:
    (tmp_path / "mine.yaml").write_text(TASK.format(name="xnli"))
    with pytest.raises(ConfigError) as info:
        _tasks(monkeypatch, tmp_path)
    line = info.value.one_line()
    assert str(tmp_path / "mine.yaml") in line and "'xnli'" in line and "override" in line
    (tmp_path / "mine.yaml").write_text("override: true\n" + TASK.format(name="xnli"))
    assert _tasks(monkeypatch, tmp_path)["xnli"].source_file == str(tmp_path / "mine.yaml")


def test_a_task_defined_by_two_files_is_refused(tmp_path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "t.yaml").write_text(TASK.format(name="my-task"))
    (b / "t.yaml").write_text("override: true\n" + TASK.format(name="my-task"))
    with pytest.raises(ConfigError) as info:
        _tasks(monkeypatch, a, b)
    line = info.value.one_line()
    assert str(b / "t.yaml") in line and str(a / "t.yaml") in line
    assert set(_tasks(monkeypatch, a, a)) >= {"my-task"}  # one directory listed twice: fine


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": ""}, "model"),
        ({"model": "  "}, "model"),
        ({"models": []}, "models"),
        ({"models": ["offline", ""]}, "models"),
        ({"evaluation": {"languages": []}}, "evaluation.languages"),
        ({"perturbations": [{"name": "char_swap", "languages": []}]}, "perturbations.0.languages"),
        ({"attacks": [{"languages": []}]}, "attacks.0.languages"),
    ],
)
def test_empty_model_and_language_values_are_refused(change, field) -> None:
    cfg = {"target": "demo-sentiment", **change}
    with pytest.raises(ConfigError) as info:
        parse_config(cfg)
    assert f" {field}:" in info.value.one_line(), info.value.one_line()


def test_task_file_with_no_languages_is_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / "t.yaml").write_text(TASK.format(name="my-task").replace("[en]", "[]"))
    with pytest.raises(ConfigError) as info:
        _tasks(monkeypatch, tmp_path)
    assert str(tmp_path / "t.yaml") in info.value.one_line() and "languages" in str(info.value)


def test_out_holding_foreign_files_is_refused_unless_force(
    rel_cache, tiny_bert, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny_config(tiny_bert)))
    out = tmp_path / "mine"
    (out / "results").mkdir(parents=True)
    (out / "results" / "notes.json").write_text('{"not": "rows"}')
    (out / "thesis.tex").write_text("x")
    code, _, err = cli(monkeypatch, capsys, "run", str(cfg), "--out", str(out), "--no-report")
    assert code == 2 and f"--out {out}" in err and "thesis.tex" in err and "--force" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["results", "thesis.tex"]  # untouched
    # --force: runs; the foreign rows file is skipped and named, never read as results
    code, _, err = cli(
        monkeypatch, capsys, "run", str(cfg), "--out", str(out), "--no-report", "--force"
    )
    assert code == 0 and "notes.json" in err, err
    # now a run of ours: the same command resumes without --force
    code, _, err = cli(monkeypatch, capsys, "run", str(cfg), "--out", str(out), "--no-report")
    assert code == 0, err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli(monkeypatch, capsys, "run", str(cfg), "--out", str(empty), "--no-report")
    assert code == 0, err


@pytest.mark.parametrize(
    "text",
    [
        "target: xnli\nseeds: " + "[" * 1200 + "1" + "]" * 1200 + "\n",
        "target: xnli\nx: " + "{a: " * 1200 + "1" + "}" * 1200 + "\n",
        "target: xnli\nx:\n" + "".join(" " * i + "a:\n" for i in range(1, 300)),
    ],
)
def test_deep_yaml_is_refused_before_pyyaml_spends_seconds(tmp_path: Path, text: str) -> None:
    """A 2 KB config of nested brackets kept PyYAML's scanner busy for 3-12 s (found by
    ``make fuzz`` as timeouts); now refused naming the file and line, in milliseconds."""
    p = tmp_path / "c.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: invalid YAML: nested deeper than 100"):
        load_config(p)
    assert time.perf_counter() - t0 < 1.0


def test_huge_row_in_the_typo_alignment_is_refused(tmp_path: Path) -> None:
    """A 1 MB row made the twin alignment (difflib, quadratic) run for minutes."""
    from xstilts.data.readers import read

    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli" / "test-de.tsv").write_text("a b c\td e f\tneutral\n")
    noisy = tmp_path / "typos" / "test_de_typos_0.1.tsv"
    noisy.parent.mkdir()
    noisy.write_text("premise\thypothesis\tlabel\n" + "a" * 1_000_000 + "\td e f\t1\n")
    t0 = time.perf_counter()
    with pytest.raises(Exception, match=rf"{noisy}:2: line of 1,000,0\d\d characters"):
        read("stickland_xnli", noisy, {"clean_dir": "../xnli"})
    assert time.perf_counter() - t0 < 2.0


def test_model_name_too_long_for_a_path_is_one_line() -> None:
    """Found by ``make fuzz`` (2 of 20,000 config cases): a 1 MB ``model:`` value was an
    unhandled OSError (ENAMETOOLONG) from ``Path.is_dir``."""
    from xstilts.experiments.plan import build_plan

    cfg = parse_config({"target": "demo-sentiment", "model": "a" * 100_000})
    with pytest.raises(ConfigError) as info:
        build_plan(cfg)
    line = info.value.one_line()
    assert line.startswith("model: invalid model name or path") and len(line) < 300, line
