"""What a crash or a bad copy leaves behind, and what arrives damaged from outside.

* Every artefact kind of a finished run (results file, ``done.json``, checkpoint weights) and of
  an interrupted one (``train_state``: ``state.json``, optimizer state, weights) is damaged in
  each way a crash or a bad copy does it; then ``xstilts results`` and ``xstilts report`` must
  skip and name what they cannot read (no traceback), and the rerun must name the damaged step,
  move it into ``steps/.quarantine/`` and compute it again, every row equal to the clean run's.
* A damaged model directory (``config.json`` with wrong types, 10^5-deep nesting or zero
  attention heads, a garbage ``tokenizer.json``, truncated or pickled weights) is one line
  naming the file.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest
import torch
from relkit import comparable, tiny_config
from test_faults import _poison_loss, _train_key

from xstilts.errors import ConfigError, TrainingError, XstiltsError
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.store import QUARANTINE, ArtifactStore


@pytest.fixture()
def env(rel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    return rel_cache


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``xstilts ARGS`` in process, through the same entry point and error handling."""
    from xstilts.cli.main import main

    monkeypatch.setattr(sys, "argv", ["xstilts", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    got = capsys.readouterr()
    assert "Traceback" not in got.out + got.err, got.err
    return code, got.out, got.err


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _garbage(p: Path) -> None:  # same size, other bytes
    p.write_bytes(bytes((b * 7 + 13) % 256 for b in p.read_bytes()))


def _pickle(p: Path) -> None:
    p.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))


def _replace_text(text: str):
    def damage(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return damage


def _invalid_utf8(p: Path) -> None:
    p.write_bytes(b'[{"model": "\xff\xfe"}]')


def _directory(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "x").write_text("[]")


def _wrong_rows(p: Path) -> None:
    meta = json.loads(p.read_text())
    meta["rows"] = "many"
    p.write_text(json.dumps(meta))


# (which step, which file, how it is damaged)
FINISHED = {
    "results-invalid-json": ("evaluate", "results", _replace_text('[{"model": ')),
    "results-object": ("evaluate", "results", _replace_text('{"rows": []}')),
    "results-invalid-utf8": ("evaluate", "results", _invalid_utf8),
    "results-directory": ("evaluate", "results", _directory),
    "results-wrong-types": ("evaluate", "results", _replace_text('[{"model": 3}]')),
    "done-garbage": ("evaluate", "done.json", _replace_text("\x00{garbage")),
    "done-wrong-types": ("train", "done.json", _wrong_rows),
    "checkpoint-truncated": ("train", "model.safetensors", _truncate),
    "checkpoint-garbage": ("train", "model.safetensors", _garbage),
    "checkpoint-pickle": ("train", "model.safetensors", _pickle),
    "predictions-truncated": ("evaluate", "predictions/en.jsonl", _truncate),
}


@pytest.mark.parametrize("case", sorted(FINISHED))
def test_damaged_artefact_of_a_finished_run(
    env, tiny_bert, tiny_clean_run, tmp_path, monkeypatch, capsys, case
) -> None:
    kind, name, damage = FINISHED[case]
    out = tmp_path / "out"
    shutil.copytree(tiny_clean_run, out)
    plan = build_plan(parse_config(tiny_config(tiny_bert)))
    key = next(s.key for s in plan.steps.values() if s.kind == kind)
    other = [s.key for s in plan.steps.values() if s.key != key]
    target = ResultsStore(out).path(key) if name == "results" else out / "steps" / key / name
    damage(target)
    clean = comparable(tiny_clean_run)

    # results and report: skip and name what cannot be read; never a traceback
    code, text, err = cli(monkeypatch, capsys, "results", str(out), "--json")
    assert code == 0, err
    if name == "results":
        assert f"{key}.json" in err and "skipped" in err, err
        assert json.loads(text) == [
            r for r in ResultsStore(tiny_clean_run).rows() if r["step"] != key
        ]
    else:  # the rows file is intact: every row is listed
        assert len(json.loads(text)) == len(clean)
    code, _, err = cli(monkeypatch, capsys, "report", str(out))
    assert code == 0, err

    # the rerun names the damaged step, sets it aside and computes it again
    LocalExecutor().run(plan, out)
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert any(key in ln and QUARANTINE in ln for ln in warnings), err
    assert not any(k in ln for k in other for ln in warnings), err  # only that one
    held = sorted(p.name for p in (out / "steps" / QUARANTINE).iterdir())
    assert held and all(p.startswith(key) for p in held), held
    assert comparable(out) == clean
    assert ArtifactStore(out).verify(key, ResultsStore(out)) is None


TRAIN_STATE = {
    "state-json-garbage": ("state.json", _replace_text("{not json")),
    "state-json-wrong-types": ("state.json", _replace_text('{"step": "4", "history": {}}')),
    "state-json-list": ("state.json", _replace_text("[1, 2]")),
    "optimizer-truncated": ("optim.pt", _truncate),
    "weights-truncated": ("model.safetensors", _truncate),
    "weights-pickle": ("model.safetensors", _pickle),
}


@pytest.mark.parametrize("case", sorted(TRAIN_STATE))
def test_damaged_training_state_is_set_aside_and_the_step_runs_again(
    env, tiny_bert, tiny_clean_run, tmp_path, monkeypatch, capsys, case
) -> None:
    name, damage = TRAIN_STATE[case]
    plan = build_plan(parse_config(tiny_config(tiny_bert)))
    out = tmp_path / "out"
    poison = _poison_loss(monkeypatch, 5, "nan")  # stops the training after the step-4 state
    with pytest.raises(TrainingError):
        LocalExecutor().run(plan, out)
    state = ArtifactStore(out).work(_train_key(plan)) / "train_state"
    assert json.loads((state / "state.json").read_text())["step"] == 4
    damage(state / name)
    poison["armed"] = False
    capsys.readouterr()
    LocalExecutor().run(plan, out)
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and str(state / name) in warnings[0], err
    held = list((out / "steps" / QUARANTINE).iterdir())
    assert len(held) == 1 and (held[0] / name).exists()
    assert comparable(out) == comparable(tiny_clean_run)
    key = _train_key(plan)
    a = (ArtifactStore(out).path(key) / "model.safetensors").read_bytes()
    assert a == (ArtifactStore(tiny_clean_run).path(key) / "model.safetensors").read_bytes()


# --------------------------------------------------------------------------------------------
# damaged model directories
# --------------------------------------------------------------------------------------------


def _config(**change):
    def damage(d: Path) -> None:
        cfg = json.loads((d / "config.json").read_text())
        cfg.update(change)
        (d / "config.json").write_text(json.dumps(cfg))

    return damage


def _deep_config(d: Path) -> None:
    (d / "config.json").write_text(
        '{"model_type": "bert", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )


MODEL_DIR = {
    "config-wrong-type": ("config.json", _config(hidden_size="32")),
    "config-null-layers": ("config.json", _config(num_hidden_layers=None)),
    "config-deep": ("config.json", _deep_config),
    "config-zero-heads": ("config.json", _config(num_attention_heads=0)),
    "config-list": ("config.json", lambda d: (d / "config.json").write_text("[]")),
    "tokenizer-garbage": ("tokenizer.json", lambda d: _garbage(d / "tokenizer.json")),
    "tokenizer-wrong-shape": (
        "tokenizer.json",
        lambda d: (d / "tokenizer.json").write_text('{"model": 1}'),
    ),
    "weights-truncated": ("model.safetensors", lambda d: _truncate(d / "model.safetensors")),
    "weights-pickle": ("model.safetensors", lambda d: _pickle(d / "model.safetensors")),
}


@pytest.mark.parametrize("case", sorted(MODEL_DIR))
def test_damaged_model_directory_is_one_line_naming_the_file(
    tiny_bert, tmp_path, monkeypatch, capsys, case
) -> None:
    from xstilts.models.encoder import load_encoder, load_tokenizer, resolve_model

    name, damage = MODEL_DIR[case]
    d = tmp_path / "model"
    shutil.copytree(tiny_bert, d)
    damage(d)
    with pytest.raises(XstiltsError) as info:
        ref = resolve_model(str(d))
        load_tokenizer(ref)
        load_encoder(ref)
    line = info.value.one_line()
    assert "\n" not in line and str(d) in line, line
    if name != "tokenizer.json" or case == "tokenizer-garbage":
        assert name in line, line
    # and through the CLI: one line, no traceback
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny_config(d)))
    code, _, err = cli(monkeypatch, capsys, "plan", str(cfg))
    if code == 0:  # plan does not load weights or tokenizers: run does
        code, _, err = cli(monkeypatch, capsys, "run", str(cfg), "--out", str(tmp_path / "o"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(d) in err, err


def test_zero_attention_heads_was_a_zero_division(tiny_bert: Path) -> None:
    """Without the check, transformers divides by the head count (the reported traceback)."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig.from_pretrained(str(tiny_bert))
    cfg.num_attention_heads = 0
    with pytest.raises(ZeroDivisionError):
        BertModel(cfg)
    with pytest.raises(ConfigError, match="num_attention_heads"):
        from xstilts.models.encoder import check_model_dir

        d = Path(str(tiny_bert) + "-zero")
        shutil.copytree(tiny_bert, d, dirs_exist_ok=True)
        _config(num_attention_heads=0)(d)
        check_model_dir(d)


def test_torch_is_not_needed_to_spot_a_renamed_pickle(tmp_path: Path) -> None:
    from xstilts.guardio import check_safetensors

    p = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, p)
    with pytest.raises(XstiltsError, match="model.safetensors: damaged safetensors"):
        check_safetensors(p)
