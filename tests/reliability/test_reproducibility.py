"""Determinism: same config and seed on CPU, bit-identical results and weights; the opt-in
``XSTILTS_DETERMINISTIC=1`` switch (for GPUs) changes nothing on CPU and no step key.

Bit-identity across kills is in ``test_kill_resume.py`` (real encoder and the tiny model); the
GPU tolerance is documented in ``docs/reliability.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from relkit import comparable, tiny_config

from xstilts.determinism import apply_from_env
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan


@pytest.fixture()
def restore_torch_flags():
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.benchmark = before[1]
    torch.backends.cudnn.deterministic = before[2]
    torch.backends.cuda.matmul.allow_tf32 = before[3]
    torch.backends.cudnn.allow_tf32 = before[4]


def test_switch_is_off_unless_asked(monkeypatch) -> None:
    monkeypatch.delenv("XSTILTS_DETERMINISTIC", raising=False)
    assert apply_from_env() is False
    monkeypatch.setenv("XSTILTS_DETERMINISTIC", "0")
    assert apply_from_env() is False


def test_deterministic_switch_same_results_and_keys_on_cpu(
    tiny_bert: Path,
    rel_cache: Path,
    tiny_clean_run: Path,
    tmp_path,
    monkeypatch,
    restore_torch_flags,
) -> None:
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    monkeypatch.setenv("XSTILTS_DETERMINISTIC", "1")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    plan = build_plan(parse_config(tiny_config(tiny_bert)))
    out = tmp_path / "out"
    LocalExecutor().run(plan, out)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert not torch.backends.cuda.matmul.allow_tf32
    assert __import__("os").environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    # same steps (keys) as without the switch, and bit-identical rows and weights
    assert {p.name for p in (out / "steps").iterdir()} == {
        p.name for p in (tiny_clean_run / "steps").iterdir()
    }
    assert comparable(out) == comparable(tiny_clean_run)
    for d in (tiny_clean_run / "steps").iterdir():
        if (d / "model.safetensors").exists():
            a = (d / "model.safetensors").read_bytes()
            assert a == (out / "steps" / d.name / "model.safetensors").read_bytes()


def test_same_seed_twice_is_bit_identical_and_another_seed_is_not(
    tiny_bert: Path, rel_cache: Path, tiny_clean_run: Path, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    monkeypatch.setenv("XSTILTS_PROGRESS", "0")
    again = tmp_path / "again"
    LocalExecutor().run(build_plan(parse_config(tiny_config(tiny_bert))), again)
    assert comparable(again) == comparable(tiny_clean_run)
    preds = sorted((again / "steps").glob("evaluate-*/predictions/*.jsonl"))
    assert preds and all(
        p.read_bytes() == (tiny_clean_run / p.relative_to(again)).read_bytes() for p in preds
    )
    other = tmp_path / "other"
    LocalExecutor().run(build_plan(parse_config(tiny_config(tiny_bert, seeds=[2]))), other)
    train = lambda o: sorted((o / "steps").glob("train-*/model.safetensors"))  # noqa: E731
    assert train(other)[0].read_bytes() != train(again)[0].read_bytes()
