"""Training only the used embedding rows gives the same weights as training the full table."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

import xstilts.training.trainer as trainer_mod
from xstilts.models.model import MultiTaskModel
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.training.config import PhaseConfig
from xstilts.training.trainer import TrainSet, train


def _model() -> MultiTaskModel:
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=300,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=1,
    )
    m = MultiTaskModel(BertModel(cfg, add_pooling_layer=False))
    m.add_head("xnli", "classification", {"num_labels": 3})
    return m


def _feats(n: int, lo: int, hi: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    ids = []
    for _ in range(n):
        k = int(torch.randint(4, 12, (1,), generator=g))
        ids.append([0, *torch.randint(lo, hi, (k,), generator=g).tolist(), 2])
    labels = torch.randint(0, 3, (n,), generator=g).tolist()
    return {"input_ids": ids, "example": list(range(n)), "labels": labels}


def _run(tmp_path, compact: bool, monkeypatch) -> dict[str, torch.Tensor]:
    if not compact:
        monkeypatch.setattr(trainer_mod, "compact_embeddings", lambda *a, **k: None)
    model = _model()
    spec = get_task("xnli")
    fam = get_family("classification")
    dev = _feats(12, 3, 300, 2)  # dev ids reach rows no training row uses
    s = TrainSet("xnli", fam, spec, _feats(40, 3, 120, 1), [{}] * 12, dev)
    cfg = PhaseConfig(learning_rate=1e-3, epochs=2, batch_size=8, weight_decay=0.1)
    train(model, {"xnli": s}, cfg, seed=3, pad_id=1, work_dir=tmp_path / str(compact))
    assert isinstance(model.encoder.get_input_embeddings(), torch.nn.Embedding)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_compact_embeddings_match_full_training(tmp_path, monkeypatch):
    got = _run(tmp_path, True, monkeypatch)
    monkeypatch.undo()
    ref = _run(tmp_path, False, monkeypatch)
    assert got.keys() == ref.keys()
    emb = "encoder.embeddings.word_embeddings.weight"
    assert not torch.equal(ref[emb][200:], _model().state_dict()[emb][200:])  # decay applied
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-5, atol=1e-6, msg=k)


def test_tied_or_frozen_embeddings_are_left_alone():
    from xstilts.training.compact_embed import compact_embeddings

    m = _model()
    m.freeze_embeddings()
    assert compact_embeddings(m, [{"input_ids": [0, 5, 2]}], ["classification"], 1) is None
    m = _model()
    assert compact_embeddings(m, [{"input_ids": [0, 5, 2]}], ["mlm"], 1) is None
    c = compact_embeddings(m, [{"input_ids": [[0, 5, 2], [0, 7]]}], ["multiple_choice"], 1)
    assert c is not None and c.ids.tolist() == [0, 1, 2, 5, 7]
    with pytest.raises(RuntimeError):
        c(torch.tensor([[9]]))


class _Stop(Exception):
    pass


def test_resume_with_compact_embeddings_is_bit_identical(tmp_path):
    spec = get_task("xnli")
    fam = get_family("classification")
    cfg = PhaseConfig(
        learning_rate=1e-3, max_steps=10, batch_size=8, weight_decay=0.1, checkpoint_every=3
    )

    def run(work, progress=None):
        model = _model()
        dev = _feats(12, 3, 300, 2)
        s = TrainSet("xnli", fam, spec, _feats(40, 3, 120, 1), [{}] * 12, dev)
        train(model, {"xnli": s}, cfg, seed=3, pad_id=1, work_dir=work, progress=progress)
        return model.state_dict()

    clean = run(tmp_path / "clean")

    def stop(i, n, loss):
        if i == 7:
            raise _Stop

    with pytest.raises(_Stop):
        run(tmp_path / "resumed", stop)
    resumed = run(tmp_path / "resumed")
    for k in clean:
        assert torch.equal(clean[k], resumed[k]), k
