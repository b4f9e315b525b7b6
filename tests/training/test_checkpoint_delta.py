"""Checkpoints store the word-embedding table only when training changed it."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel

from xstilts.errors import ConfigError
from xstilts.models.model import MultiTaskModel, load_state, save_checkpoint

EMB = "encoder.embeddings.word_embeddings.weight"


def _model(seed: int) -> MultiTaskModel:
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=500, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    m = MultiTaskModel(BertModel(cfg, add_pooling_layer=False))
    m.add_head("t", "classification", {"num_labels": 3})
    return m


def _same(a: MultiTaskModel, b: MultiTaskModel) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_unchanged_embeddings_are_inherited_and_restored(tmp_path):
    trained = _model(0)
    with torch.no_grad():  # "training" touched every layer but the (frozen) embeddings
        for n, p in trained.named_parameters():
            if "word_embeddings" not in n:
                p.add_(0.01)
    save_checkpoint(trained, tmp_path, {})
    assert EMB not in load_file(str(tmp_path / "model.safetensors"))
    assert EMB in json.loads((tmp_path / "inherited.json").read_text())

    fresh = _model(0)  # the same pretrained weights
    assert not _same(fresh, trained)
    load_state(fresh, tmp_path, encoder_only=False)
    assert _same(fresh, trained)


def test_changed_embeddings_are_written(tmp_path):
    trained = _model(0)
    with torch.no_grad():
        trained.encoder.embeddings.word_embeddings.weight.add_(0.01)
    save_checkpoint(trained, tmp_path, {})
    assert EMB in load_file(str(tmp_path / "model.safetensors"))
    fresh = _model(0)
    load_state(fresh, tmp_path, encoder_only=True)
    assert torch.equal(
        fresh.encoder.embeddings.word_embeddings.weight,
        trained.encoder.embeddings.word_embeddings.weight,
    )


def test_inherited_table_from_another_encoder_is_refused(tmp_path):
    save_checkpoint(_model(0), tmp_path, {})
    with pytest.raises(ConfigError, match="different pretrained encoder"):
        load_state(_model(1), tmp_path, encoder_only=True)
