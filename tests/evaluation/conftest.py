"""A tiny random encoder and a demo-sentiment checkpoint of it, for protocol tests whose property
(device, dtype, row shape) does not depend on what the weights learnt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, offline_encoder: Path) -> tuple[Path, Path]:
    """(tiny random encoder dir, a demo-sentiment checkpoint of it): precision and device do not
    depend on what the weights learnt."""
    from transformers import BertConfig, BertModel

    from xstilts.experiments.pipeline import add_task_head
    from xstilts.models.build import build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.models.model import save_checkpoint
    from xstilts.tasks.registry import get_task

    d = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    BertModel(cfg, add_pooling_layer=False).save_pretrained(d, safe_serialization=True)
    for f in offline_encoder.glob("tokenizer*"):
        shutil.copy(f, d / f.name)
    model, _ = build_model(resolve_model(str(d)), {})
    add_task_head(model, get_task("demo-sentiment"), "mean")
    ckpt = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(model, ckpt, {"tasks": ["demo-sentiment"]})
    return d, ckpt
