"""A tiny random BERT with the offline encoder's tokenizer, for properties that do not depend on
what the encoder knows (export fidelity, API plumbing, sweep bookkeeping)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, offline_encoder: Path) -> Path:
    from transformers import BertConfig, BertModel

    d = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )  # fmt: skip
    BertModel(cfg, add_pooling_layer=False).save_pretrained(d, safe_serialization=True)
    for pattern in ("tokenizer*", "special_tokens_map.json"):
        for f in offline_encoder.glob(pattern):
            shutil.copy(f, d / f.name)
    return d
