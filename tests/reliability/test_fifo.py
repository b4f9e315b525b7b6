"""A FIFO (named pipe) at any input path: one line naming it, within a second, never a hang.

Opening a FIFO for reading blocks until a writer opens it: before the guarded open
(``xstilts.guardio``) every reader, config, task file and model directory waited forever.
Each case runs under a 1-second alarm; a case that blocks fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from relkit import time_limit, tiny_config
from test_damaged import cli
from test_fuzz_readers import _SEEDS, TARGETS, Seed, _seeds, _write

from xstilts.errors import XstiltsError

LIMIT_S = 1.0


def _fifo(path: Path) -> Path:
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return path


def _refused(call, fifo: Path, limit: float = LIMIT_S) -> str:
    with time_limit(limit):
        with pytest.raises(XstiltsError) as info:
            call()
    line = info.value.one_line()
    assert "\n" not in line and str(fifo) in line and "FIFO" in line, line
    return line


@pytest.fixture(scope="module")
def reader_seeds(shared_data: Path) -> dict[str, Seed]:
    if not _SEEDS:
        _SEEDS.update(_seeds(shared_data))
    return _SEEDS


@pytest.mark.parametrize("target", TARGETS)
def test_fifo_at_every_reader_input(
    target: str, reader_seeds: dict[str, Seed], tmp_path: Path, rel_cache, monkeypatch
) -> None:
    """Each file of each reader's input (main file, twin, candidates, gold...) as a FIFO."""
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    seed = reader_seeds[target]
    for name in sorted(seed.files):
        d = tmp_path / name.replace("/", "_")
        d.mkdir()
        _write(d, seed.files)
        _refused(lambda d=d: seed.call(d), _fifo(d / name))


def test_fifo_as_config_include_and_task_file(tmp_path, monkeypatch, capsys) -> None:
    from xstilts.experiments.config import load_config
    from xstilts.tasks import registry

    _refused(lambda: load_config(_fifo(tmp_path / "c.yaml")), tmp_path / "c.yaml")
    with time_limit(LIMIT_S):
        code, _, err = cli(monkeypatch, capsys, "run", str(tmp_path / "c.yaml"))
    assert code == 2 and "FIFO" in err and len(err.strip().splitlines()) == 1, err
    # an experiment config's ``include:`` naming a FIFO (``experiments/config.py: with_include``)
    (tmp_path / "study.yaml").write_text("include: recipe.yaml\ntargets: [xnli]\n")
    _refused(lambda: load_config(tmp_path / "study.yaml"), _fifo(tmp_path / "recipe.yaml"))

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    _fifo(tasks / "pipe.yaml")
    monkeypatch.setenv("XSTILTS_TASKS", str(tasks))
    registry._load.cache_clear()
    # Both calls parse every built-in task file first (~85 files, 0.6 s on an idle core): a FIFO
    # would block forever, so a few seconds still tells a refusal from a hang on a busy machine.
    try:
        with time_limit(5 * LIMIT_S):
            code, _, err = cli(monkeypatch, capsys, "tasks")
        assert code == 2 and str(tasks / "pipe.yaml") in err and "FIFO" in err, err
        (tasks / "pipe.yaml").unlink()
        (tasks / "t.yaml").write_text("include: base.yaml\nname: t\n")
        _fifo(tasks / "base.yaml.in")
        (tasks / "t.yaml").write_text("include: base.yaml.in\nname: t\n")
        registry._load.cache_clear()
        _refused(registry.all_tasks, tasks / "base.yaml.in", 5 * LIMIT_S)
    finally:
        registry._load.cache_clear()


def test_fifo_task_file_subprocess_does_not_hang(tmp_path: Path) -> None:
    """The reported case end to end: ``xstilts tasks`` with a FIFO in the task directory."""
    _fifo(tmp_path / "pipe.yaml")
    env = {**os.environ, "XSTILTS_TASKS": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "xstilts.cli.main", "tasks"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().count("\n") == 0 and "pipe.yaml" in res.stderr, res.stderr


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json", "vocab.txt"])
def test_fifo_in_a_model_directory(tiny_bert: Path, tmp_path: Path, name: str) -> None:
    from xstilts.models.encoder import load_tokenizer, resolve_model

    d = tmp_path / "model"
    shutil.copytree(tiny_bert, d)
    fifo = _fifo(d / name)
    _refused(lambda: load_tokenizer(resolve_model(str(d))), fifo)


def test_fifo_as_run_artefacts_and_cli_files(
    rel_cache, tiny_bert, tiny_clean_run, tmp_path, monkeypatch, capsys
) -> None:
    """Results file, ``done.json``, ``perturb --file``, ``report --answer``."""
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    out = tmp_path / "out"
    shutil.copytree(tiny_clean_run, out)
    res = sorted((out / "results").glob("*.json"))[0]
    _fifo(res)
    with time_limit(LIMIT_S):
        code, text, err = cli(monkeypatch, capsys, "results", str(out), "--json")
    assert code == 0 and res.name in err and "FIFO" in err and json.loads(text) == [], err
    with time_limit(5 * LIMIT_S):  # the report itself takes a few seconds
        code, _, err = cli(monkeypatch, capsys, "report", str(out))
    assert code == 0 and res.name in err, err
    done = next(p for p in (out / "steps").glob("train-*/done.json"))
    _fifo(done)
    from xstilts.experiments.store import settle

    with time_limit(LIMIT_S):
        assert not settle(out, done.parent.name)
    assert "FIFO" in capsys.readouterr().err
    for args in (
        ["perturb", "--file", str(_fifo(tmp_path / "texts.txt"))],
        ["report", str(out), "--answer", str(_fifo(tmp_path / "answer.md"))],
    ):
        with time_limit(5 * LIMIT_S):
            code, _, err = cli(monkeypatch, capsys, *args)
        assert code == 2 and "FIFO" in err and len(err.strip().splitlines()) == 1, err


def test_tiny_config_still_reads(tiny_bert: Path, tmp_path: Path) -> None:
    """The guard refuses only what is not a regular file: the same config as a file loads."""
    from xstilts.experiments.config import load_config

    p = tmp_path / "c.yaml"
    p.write_text(json.dumps(tiny_config(tiny_bert)))
    assert load_config(p).model == str(tiny_bert)
