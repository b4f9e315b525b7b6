"""Data-parallel training of one step (``processes: 2``): two gloo workers on CPU.

Both workers take half of every global batch; DDP averages their gradients, so with equal
halves and no dropout the weights equal one process's up to floating-point reduction order.
A tiny random BERT (no dropout) stands in for the encoder: the property does not depend on it.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from gridkit import grid_config  # noqa: E402

from xstilts.experiments.config import parse_config  # noqa: E402
from xstilts.experiments.executors import LocalExecutor  # noqa: E402
from xstilts.experiments.plan import build_plan  # noqa: E402
from xstilts.experiments.results import ResultsStore  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, offline_encoder: Path) -> Path:
    from transformers import BertConfig, BertModel

    d = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    BertModel(cfg, add_pooling_layer=False).save_pretrained(d, safe_serialization=True)
    for f in offline_encoder.glob("tokenizer*"):
        shutil.copy(f, d / f.name)
    return d


def _run(out: Path, model: Path, processes: int) -> tuple[dict[str, torch.Tensor], list, dict]:
    phase = {
        "max_steps": 4, "batch_size": 4, "max_examples": 16, "learning_rate": 1e-3,
        "freeze_embeddings": False, "processes": processes, "head_dropout": 0.0,
    }  # fmt: skip
    spec = grid_config(
        intermediate=[], targets=["demo-sentiment"], seeds=[1], baseline=True,
        target_phase=phase, evaluation={"languages": ["en", "de"], "max_examples": 8},
    )  # fmt: skip
    spec["model"] = str(model)
    plan = build_plan(parse_config(copy.deepcopy(spec)))
    LocalExecutor().run(plan, out)
    (train,) = [s for s in plan.steps.values() if s.kind == "train"]
    ckpt = out / "steps" / train.key
    meta = json.loads((ckpt / "meta.json").read_text())
    return load_file(str(ckpt / "model.safetensors")), ResultsStore(out).rows(), meta


@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    one, rows1, meta1 = _run(tmp_path / "one", tiny_model, 1)
    two, rows2, meta2 = _run(tmp_path / "two", tiny_model, 2)
    # each worker computed its half of every batch, not the whole batch twice
    assert meta1["examples_seen"] == meta2["examples_seen"] == 16
    assert meta1["rows_computed"] == meta2["rows_computed"] == 16
    assert meta2["processes"] == 2
    assert one.keys() == two.keys()
    start = load_file(str(tiny_model / "model.safetensors"))
    moved = 0
    for k, v in one.items():
        assert torch.allclose(v, two[k], atol=2e-5, rtol=1e-4), k
        ref = start.get(k.removeprefix("encoder."))
        if ref is not None and not torch.equal(ref, v):
            moved += 1
    assert moved > 10  # training changed the encoder, identically in both set-ups
    acc1 = {r["language"]: r["value"] for r in rows1 if r["metric"] == "accuracy"}
    acc2 = {r["language"]: r["value"] for r in rows2 if r["metric"] == "accuracy"}
    assert acc1 == acc2
    # the step key ignores the process count: both runs name the same artefact
    assert {p.name for p in (tmp_path / "one" / "steps").iterdir()} == {
        p.name for p in (tmp_path / "two" / "steps").iterdir()
    }
