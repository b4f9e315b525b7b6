"""Dev evaluation every N updates and early stopping on the English dev score (jiant's recipe)."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from test_compact_embed import _feats, _model

import xstilts.training.trainer as trainer_mod
from xstilts.experiments.steps import key_params
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.training.config import PhaseConfig
from xstilts.training.trainer import TrainSet, train


def _set() -> TrainSet:
    """80 training rows, 12 dev rows (scored by the scripted ``dev_score``)."""
    fam, spec = get_family("classification"), get_task("xnli")
    return TrainSet("xnli", fam, spec, _feats(80, 3, 120, 1), [{}] * 12, _feats(12, 3, 300, 2))


def _train(tmp_path, cfg: PhaseConfig, scores: list[float], monkeypatch):
    """Train the tiny model with scripted dev scores; returns (result, model, dev calls)."""
    calls: list[int] = []
    it = iter(scores)

    def fake_dev_score(model, st, cfg, pad_id, device):
        calls.append(1)
        return {st.spec.main_metric: next(it)}

    monkeypatch.setattr(trainer_mod, "dev_score", fake_dev_score)
    model = _model()
    res = train(model, {"xnli": _set()}, cfg, seed=3, pad_id=1, work_dir=tmp_path)
    return res, model, calls


def test_stops_after_patience_and_keeps_the_best(tmp_path, monkeypatch):
    cfg = PhaseConfig(
        learning_rate=1e-3, max_steps=40, batch_size=8, eval_every=3, early_stopping_patience=2
    )
    # evaluations after updates 3, 6, 9, 12: best at 6, then two without improvement -> stop
    res, model, calls = _train(tmp_path / "a", cfg, [0.5, 0.6, 0.55, 0.6, 0.9, 0.9], monkeypatch)
    assert [r["step"] for r in res.history] == [3, 6, 9, 12]
    assert res.history[-1].get("early_stop") and res.steps == 12 and len(calls) == 4
    assert res.best == {"step": 6, "dev_main": 0.6}
    # the returned weights are those saved at the best evaluation, not the last step's
    best = trainer_mod.load_file(str(tmp_path / "a" / "train_state" / "best.safetensors"))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in best.items())

    # without patience the same scores train to the end, evaluating every 3 updates and last
    cfg2 = cfg.model_copy(update={"early_stopping_patience": None})
    scores = [0.5] * 14
    res2, _, _ = _train(tmp_path / "b", cfg2, scores, monkeypatch)
    assert [r["step"] for r in res2.history] == [*range(3, 40, 3), 40] and res2.steps == 40


def test_interval_counts_optimizer_updates():
    from xstilts.training.trainer import _evaluation_due

    cfg = PhaseConfig(eval_every=2, grad_accum=3)  # every 2 updates = every 6 batches
    due = [s for s in range(1, 25) if _evaluation_due(cfg, s, 24, s % 12 == 0, s % 3 == 0)]
    assert due == [6, 12, 18, 24]
    assert [
        s for s in range(1, 25) if _evaluation_due(PhaseConfig(), s, 24, s % 12 == 0, True)
    ] == [
        12,
        24,
    ]


def test_config_errors_and_step_keys():
    with pytest.raises(ValidationError, match="early_stopping_patience"):
        PhaseConfig(early_stopping_patience=2, dev_split=None)
    with pytest.raises(ValidationError, match="eval_every"):
        PhaseConfig(eval_every=0)
    # phases written before these options keep their step keys
    plain = key_params({"phase": PhaseConfig().model_dump()})["phase"]
    assert "early_stopping_patience" not in plain and plain["eval_every"] == "epoch"
    stopping = key_params({"phase": PhaseConfig(early_stopping_patience=3).model_dump()})
    assert stopping["phase"]["early_stopping_patience"] == 3


class _Kill(Exception):
    pass


def test_early_stopping_survives_a_kill(tmp_path, monkeypatch):
    """Killed between evaluations and resumed: the same stop, best step and weights."""
    by_step = {3: 0.5, 6: 0.7, 9: 0.6, 12: 0.65, 15: 0.69, 18: 0.9}  # best 6, stop after 15
    now = {"step": 0}

    def fake_dev_score(model, st, cfg, pad_id, device):
        return {st.spec.main_metric: by_step[now["step"]]}

    monkeypatch.setattr(trainer_mod, "dev_score", fake_dev_score)
    cfg = PhaseConfig(
        learning_rate=1e-3,
        max_steps=40,
        batch_size=8,
        eval_every=3,
        early_stopping_patience=3,
        checkpoint_every=4,
    )

    def run(work, kill_at=None):
        def progress(i, n, loss):
            now["step"] = i
            if i == kill_at:
                raise _Kill

        model = _model()
        res = train(
            model, {"xnli": _set()}, cfg, seed=3, pad_id=1, work_dir=work, progress=progress
        )
        return res, model.state_dict()

    clean, w_clean = run(tmp_path / "clean")
    assert clean.steps == 15 and clean.best["step"] == 6
    with pytest.raises(_Kill):
        run(tmp_path / "resumed", kill_at=10)  # after the checkpoint at 8, before the eval at 12
    resumed, w_resumed = run(tmp_path / "resumed")
    assert (resumed.steps, resumed.best) == (clean.steps, clean.best)
    assert [r["step"] for r in resumed.history] == [r["step"] for r in clean.history]
    for k in w_clean:
        assert torch.equal(w_clean[k], w_resumed[k]), k
