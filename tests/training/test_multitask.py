"""Multi-task intermediate training across families (one encoder, a head per task), BERT masking,
the tied MLM head, and planning the shipped configs without the hub."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.data.sources import load_examples
from xstilts.experiments.config import load_config
from xstilts.experiments.pipeline import add_task_head, build_model, featurize
from xstilts.experiments.plan import build_plan
from xstilts.models.encoder import resolve_model
from xstilts.models.model import MultiTaskModel, load_state, save_checkpoint
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.training.batching import SAMPLERS
from xstilts.training.config import PhaseConfig
from xstilts.training.mlm import mask_tokens
from xstilts.training.trainer import TrainSet, _Plan, train

ROOT = Path(__file__).resolve().parents[2]


def _stsb_fixture(d: Path) -> None:
    (d / "STS-B").mkdir(parents=True)
    lines = ["sentence1\tsentence2\tscore"]
    for i in range(40):
        lines.append(f"A man plays song {i}.\tA man is playing song {i}.\t{4 + (i % 10) / 10}")
        lines.append(f"A cat sleeps {i}.\tThe market fell {i} points.\t{(i % 10) / 10}")
    (d / "STS-B" / "train.tsv").write_text("\n".join(lines) + "\n")


def _mlm_fixture(d: Path) -> None:
    (d / "mlm").mkdir(parents=True)
    (d / "mlm" / "de.txt").write_text(
        "\n".join(f"Das ist der Satz Nummer {i} über Katzen und Hunde." for i in range(60)) + "\n"
    )
    (d / "mlm" / "sw.txt").write_text(
        "\n".join(f"Hii ni sentensi namba {i} kuhusu paka na mbwa." for i in range(60)) + "\n"
    )


def test_sampler_proportions_follow_the_config():
    sizes = {"a": 1000, "b": 100, "c": 10}
    cfg = PhaseConfig(max_steps=20000, sampler="temperature", sampler_params={"temperature": 2.0})
    probs = SAMPLERS.get("temperature").obj(
        sizes, SAMPLERS.params("temperature", cfg.sampler_params)
    )
    root = np.sqrt([1000, 100, 10])
    assert [probs[t] for t in "abc"] == pytest.approx(list(root / root.sum()))
    sets = {t: _FakeSet(n) for t, n in sizes.items()}
    plan = _Plan(sets, cfg, seed=3)
    got = Counter(plan.schedule)
    for t in sizes:
        assert got[t] / 20000 == pytest.approx(probs[t], abs=0.015)
    capped = SAMPLERS.get("proportional").obj(
        sizes, SAMPLERS.params("proportional", {"size_cap": 100})
    )
    assert capped == pytest.approx({"a": 100 / 210, "b": 100 / 210, "c": 10 / 210})


class _FakeSet:
    def __init__(self, n: int) -> None:
        self.rows = [{"input_ids": [0] * 5}] * n


def test_bert_masking_rates():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 128), generator=g)
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = maskable[:, -1] = False  # special tokens
    inputs, labels = mask_tokens(ids, maskable, mask_id=3, vocab_size=1000, generator=g)
    chosen = labels != -100
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert chosen.float().mean().item() == pytest.approx(0.15 * 126 / 128, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen])
    n = chosen.sum().item()
    masked = (inputs[chosen] == 3).sum().item() / n
    kept = (inputs[chosen] == ids[chosen]).sum().item() / n
    assert masked == pytest.approx(0.8, abs=0.01)
    assert kept == pytest.approx(0.1 + 0.1 / 1000, abs=0.01)  # 10% kept (+ random hits)
    assert torch.equal(inputs[~chosen], ids[~chosen])


def test_mlm_head_is_tied_and_saved_once(tmp_path, offline_encoder):
    model, _ = build_model(resolve_model(str(offline_encoder)), {})
    add_task_head(model, get_task("mlm"), "mean")
    head = model.heads["mlm"]
    emb = model.encoder.get_input_embeddings().weight
    assert head._tied[0].weight is emb
    assert not any(p is emb for n, p in head.named_parameters())
    assert head.bias.shape[0] == emb.shape[0]
    save_checkpoint(model, tmp_path, {})
    from safetensors.torch import load_file

    keys = load_file(str(tmp_path / "model.safetensors")).keys()
    assert not any(k.startswith("heads.mlm") and "decoder" in k for k in keys)
    again, _ = build_model(resolve_model(str(offline_encoder)), {})
    load_state(again, tmp_path, encoder_only=False)
    assert again.heads["mlm"]._tied[0].weight is again.encoder.get_input_embeddings().weight


@pytest.mark.slow
def test_multitask_across_four_families(tmp_path, shared_data, offline_encoder):
    """classification (PAWS-X) + multiple choice (SIQA) + regression (STS-B fixture) + MLM."""
    data = tmp_path / "data"
    _stsb_fixture(data)
    _mlm_fixture(data)
    ref = resolve_model(str(offline_encoder))
    model, tok = build_model(ref, {})
    sources = {
        "pawsx": ("dev", shared_data, 200),
        "siqa": ("dev", shared_data, 200),
        "stsb": ("train", data, None),
        "mlm": ("train", data, None),
    }
    sets: dict[str, TrainSet] = {}
    for name, (split, ddir, limit) in sources.items():
        spec = get_task(name)
        ex, fp = load_examples(spec, split, "en", ddir, limit=limit)
        feats = featurize(spec, ex, tok, 48, split, "en", fp, cache=False)
        add_task_head(model, spec, ref.pooling)
        sets[name] = TrainSet(name, get_family(spec.family), spec, feats)
    assert {s.family.name for s in sets.values()} == {
        "classification",
        "multiple_choice",
        "regression",
        "mlm",
    }
    weights = {"pawsx": 0.4, "siqa": 0.3, "stsb": 0.2, "mlm": 0.1}
    cfg = PhaseConfig(
        max_steps=16,
        batch_size=4,
        max_length=48,
        learning_rate=1e-4,
        select_best=False,
        sampler="weights",
        sampler_params={"weights": weights},
        freeze_embeddings=True,  # AdamW over the 96M-row table dominates CPU time
        warmup=0.0,
    )
    calls: Counter[str] = Counter()
    for name in sets:
        model.heads[name].register_forward_hook(lambda *_a, _n=name: calls.update([_n]))
    before = {
        n: {k: v.detach().clone() for k, v in model.heads[n].state_dict().items()} for n in sets
    }
    enc_before = model.encoder.encoder.layer[0].attention.self.query.weight.detach().clone()
    res = train(model, sets, cfg, seed=5, pad_id=tok.pad_token_id, work_dir=tmp_path / "w")
    assert res.steps == 16
    # every head was used exactly as often as the sampler's schedule says, and changed
    plan = _Plan(sets, cfg, seed=5)
    assert dict(calls) == dict(Counter(plan.schedule))
    for name in sets:
        assert calls[name] > 0, name
        after = model.heads[name].state_dict()
        assert any(not torch.equal(before[name][k], after[k]) for k in before[name]), name
    assert not torch.equal(enc_before, model.encoder.encoder.layer[0].attention.self.query.weight)
    # the schedule's proportions match the configured weights on a long horizon
    long = _Plan(sets, cfg.model_copy(update={"max_steps": 20000}), seed=5)
    freq = Counter(long.schedule)
    for t, w in weights.items():
        assert freq[t] / 20000 == pytest.approx(w, abs=0.015)


@pytest.mark.parametrize("name", ["phang2020.yaml", "domain_adaptation.yaml"])
def test_shipped_configs_plan_without_the_hub(name, monkeypatch):
    import socket

    def no_net(*a, **k):
        raise AssertionError("planning must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_net)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = load_config(ROOT / "configs" / name)
    plan = build_plan(cfg)
    kinds = plan.counts()
    if name == "phang2020.yaml":
        inter = [
            s
            for s in plan.steps.values()
            if s.kind == "train" and s.params["role"] == "intermediate"
        ]
        setups = {"+".join(s.params["tasks"]) for s in inter}
        assert len(setups) == 10  # nine intermediate set-ups + multi-task
        assert len(inter) == 10 * len(cfg.seeds)
        assert {s.params["model"]["name"] for s in plan.steps.values()} == {
            "FacebookAI/xlm-roberta-large"
        }
        # BUCC and Tatoeba are retrieval steps (not trained): pretrained + after each set-up
        assert kinds["retrieve"] == 2 * (1 + 10 * len(cfg.seeds))
        targets = {
            s.params["tasks"][0]
            for s in plan.steps.values()
            if s.kind == "train" and s.params["role"] == "target"
        }
        assert "tatoeba" not in targets and "xnli" in targets

        def target_phase(task: str) -> dict:
            return next(
                s.params["phase"]
                for s in plan.steps.values()
                if s.kind == "train" and s.params["tasks"] == [task]
            )

        # task overrides applied over the target phase (jiant's XTREME recipe)
        assert target_phase("xnli")["epochs"] == 2 and target_phase("pawsx")["epochs"] == 5
        assert target_phase("xquad")["grad_accum"] == 4 and target_phase("xnli")["grad_accum"] == 8
        assert target_phase("xquad")["max_length"] == 384
        # jiant's selection: 500 dev examples every 1,000 updates, patience 30
        sel = {k: target_phase("panx")[k] for k in ("eval_every", "early_stopping_patience")}
        assert sel == {"eval_every": 1000, "early_stopping_patience": 30}
        assert target_phase("panx")["dev_max_examples"] == 500
    else:
        models = {s.params["model"]["name"] for s in plan.steps.values()}
        assert len(models) == 4
        pools = {
            s.params["model"]["name"]: s.params["model"]["pooling"] for s in plan.steps.values()
        }
        assert pools["xlnet/xlnet-base-cased"] == "last"
        tr = [s for s in plan.steps.values() if s.kind == "train"]
        assert all(not s.params["phase"]["freeze_embeddings"] for s in tr)
        spec = get_task("sst2-70-30")
        tr_src, te_src = spec.splits["train"][0], spec.splits["test"][0]
        assert tr_src.path == te_src.path
        assert tr_src.params["slice"] == [0.0, 0.7] and te_src.params["slice"] == [0.7, 1.0]


def test_slices_are_disjoint_70_30(tmp_path):
    from xstilts.data.sources import load_examples as le

    d = tmp_path / "SST-2"
    d.mkdir()
    (d / "train.tsv").write_text(
        "sentence\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(100))
    )
    spec = get_task("sst2-70-30")
    tr, _ = le(spec, "train", "en", tmp_path)
    te, _ = le(spec, "test", "en", tmp_path)
    assert len(tr) == 70 and len(te) == 30
    assert not {e["text_a"] for e in tr} & {e["text_a"] for e in te}


def test_multitask_model_has_one_encoder(offline_encoder):
    model, _ = build_model(resolve_model(str(offline_encoder)), {})
    assert isinstance(model, MultiTaskModel)
    for t in ("siqa", "stsb", "pawsx"):
        add_task_head(model, get_task(t), "mean")
    enc_params = sum(p.numel() for p in model.encoder.parameters())
    assert sum(p.numel() for p in model.parameters()) - enc_params < 400_000
