"""Retrieval without training: hand-worked margins and thresholds, embedding, the `retrieve` step
on real Tatoeba and BUCC before and after intermediate training, and benchmark aggregation."""

from __future__ import annotations

import copy
import json
import math
import time

import pandas as pd
import pytest
import torch

from xstilts.evaluation.aggregate import aggregate_benchmark, task_scores
from xstilts.evaluation.protocols.retrieval_kinds.bucc2018 import (
    bucc_heldout,
    split_halves,
    subsample_corpus,
)
from xstilts.evaluation.protocols.retrieval_kinds.tatoeba import tatoeba_scores
from xstilts.evaluation.retrieval import bucc_optimize_threshold, bucc_scores, mine
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.models.profile import default_layer, retrieval_convention
from xstilts.tasks.registry import get_task

# ----------------------------------------------------------------------------- hand-worked


def test_ratio_margin_by_hand():
    # unit vectors at angles: cosines are cos(angle differences)
    ang_x = torch.tensor([0.0, 1.0])
    ang_y = torch.tensor([0.1, 1.2, 2.5])
    x = torch.stack([ang_x.cos(), ang_x.sin()], 1)
    y = torch.stack([ang_y.cos(), ang_y.sin()], 1)
    cos = x @ y.T  # exact cosines
    k = 2
    # mean of each side's k best cosines
    mx = cos.topk(k, 1).values.mean(1)
    my = cos.T.topk(k, 1).values.mean(1)
    # x0's forward candidates are y0 and y1; margin(x0, y0) = cos / ((mx0 + my0) / 2)
    want00 = float(cos[0, 0] / ((mx[0] + my[0]) / 2))
    pairs = mine(x, y, k=k, mode="forward", margin="ratio")
    assert pairs[0][0] == 0 and pairs[0][1] == 0
    assert pairs[0][2] == pytest.approx(want00, rel=1e-6)
    want11 = float(cos[1, 1] / ((mx[1] + my[1]) / 2))
    assert pairs[1][1] == 1 and pairs[1][2] == pytest.approx(want11, rel=1e-6)


def test_threshold_tuning_by_hand():
    cands = {("s1", "t1"): 1.30, ("s2", "t2"): 1.20, ("s3", "tx"): 1.10, ("s4", "t4"): 1.00}
    gold = [("s1", "t1"), ("s2", "t2"), ("s4", "t4"), ("s5", "t5")]
    # F1 after each candidate by descending score: 1/(1+4)*2... -> best after s4 (3/4 P, 3/4 R):
    # after s1: P1 R.25 F.4; s2: P1 R.5 F.667; s3: P.667 R.5 F.571; s4: P.75 R.75 F.75 (last)
    th = bucc_optimize_threshold(cands, gold)
    assert th == pytest.approx(1.00)  # last candidate: its own score
    s = bucc_scores(cands, gold, th)
    assert (s["precision"], s["recall"], s["f1"]) == pytest.approx((0.75, 0.75, 0.75))
    # without s4 the best cut is after s2: midpoint of 1.20 and 1.10
    del cands[("s4", "t4")]
    assert bucc_optimize_threshold(cands, gold) == pytest.approx(1.15)


def test_heldout_threshold_uses_only_the_other_half():
    cands = {("a", "1"): 1.3, ("b", "2"): 1.1, ("c", "9"): 1.05, ("d", "4"): 1.2, ("e", "8"): 1.15}
    gold = [("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]
    tune, held = {"a", "b", "c"}, {"d", "e"}
    # tuning half: a(1.3) ok, c(1.05)... sorted a 1.3, b 1.1, c 1.05 -> best F1 after b: th 1.075
    out = bucc_heldout(cands, gold, tune, held)
    assert out["threshold"] == pytest.approx(1.075)
    # held half at 1.075: d (correct) and e->8 (wrong) extracted; gold d, e->5: P .5 R .5
    assert (out["precision"], out["recall"], out["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    a, b = split_halves([f"s{i}" for i in range(10)], 13)
    assert len(a) == 5 and not a & b and a | b == {f"s{i}" for i in range(10)}
    assert split_halves([f"s{i}" for i in range(10)], 13) == (a, b)  # seeded


def test_tatoeba_directions_are_not_mixed_up():
    # xx: s0 at 0 deg, s1 at 45 deg; en: t0 at ~6 deg, t1 at ~17.5 deg (row i translates row i)
    src = torch.tensor([[1.0, 0.0], [0.7071, 0.7071]])
    tgt = torch.tensor([[0.9, 0.1], [0.95, 0.3]])
    s = tatoeba_scores(src, tgt)
    # xx -> en: s0 -> t0, s1 -> t1 (27.5 deg away, t0 is 38.7): both right
    assert s["accuracy_xx_en"] == 1.0
    # en -> xx: t0 -> s0 right, t1 -> s0 (17.5 deg) instead of s1 (27.5 deg): half right
    assert s["accuracy_en_xx"] == 0.5
    # the headline is XTREME's direction (English queries searching the xx index)
    assert s["accuracy"] == 0.5


def test_default_layers():
    # XTREME's scripts: hidden state (L + 1) - num_layers + specific_layer (models/profile.py)
    assert default_layer("bert-base-multilingual-cased", 12, "bucc2018") == 13 - 12 + 7
    assert default_layer("bert-base-multilingual-cased", 12, "tatoeba") == 13 - 12 + 7
    assert default_layer("xlm-roberta-large", 24, "bucc2018") == 25 - 12 + 7
    assert default_layer("xlm-roberta-large", 24, "tatoeba") == 25 - 24 + 13
    assert default_layer("FacebookAI/xlm-roberta-base", 12) == 8
    assert default_layer("offline:multilingual-e5-small", 12) == 12
    assert default_layer("some/unknown-model", 6) == 6
    assert retrieval_convention("bert-base-multilingual-cased", "bucc2018").pooling == "first"
    assert retrieval_convention("bert-base-multilingual-cased", "tatoeba").pooling == "mean"
    assert retrieval_convention("xlm-roberta-large", "bucc2018").max_length == 512
    assert retrieval_convention("bert-base-multilingual-cased", "tatoeba").max_length == 512
    assert retrieval_convention("offline:multilingual-e5-small", "tatoeba").max_length == 128


def test_subsample_keeps_gold_first():
    ex = {
        "src_ids": [f"s{i}" for i in range(50)],
        "src_texts": [f"a{i}" for i in range(50)],
        "tgt_ids": [f"t{i}" for i in range(80)],
        "tgt_texts": [f"b{i}" for i in range(80)],
        "gold": [("s3", "t70"), ("s40", "t2")],
    }
    sub = subsample_corpus(ex, 10, 1)
    assert len(sub["src_ids"]) == 10 and len(sub["tgt_ids"]) == 10
    assert sub["gold"] == ex["gold"]
    assert sub["src_texts"][sub["src_ids"].index("s40")] == "a40"


# ----------------------------------------------------------------------------- real encoder


def test_embed_is_order_independent(offline_encoder):
    from xstilts.evaluation.protocols.retrieval import embed
    from xstilts.experiments.pipeline import build_model
    from xstilts.models.encoder import resolve_model

    model, tok = build_model(resolve_model(str(offline_encoder)), {})
    texts = ["Hallo Welt.", "A much longer English sentence that needs padding in a batch.", "猫"]
    together = embed(model, tok, texts, layer=12, batch_size=3)
    alone = torch.cat([embed(model, tok, [t], layer=12) for t in texts])
    assert torch.allclose(together, alone, atol=1e-4)
    assert not torch.allclose(embed(model, tok, texts, layer=4), together)
    # first-token pooling (XTREME's BUCC "cls"): the first position's hidden state, padding-proof
    first = embed(model, tok, texts, layer=12, batch_size=3, pooling="first")
    ids = tok(texts[2:], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        hs = model.encode(ids["input_ids"], ids["attention_mask"], output_hidden_states=True)
    assert torch.allclose(first[2], hs.hidden_states[12][0, 0].float(), atol=1e-4)
    assert not torch.allclose(first, together)
    from xstilts.errors import ConfigError

    with pytest.raises(ConfigError, match="layer 13"):
        embed(model, tok, texts, layer=13)


def test_ranking_fixture(tmp_path, offline_encoder):
    d = tmp_path / "lareqa"
    d.mkdir()
    cands = [
        {"id": "c1", "text": "The Eiffel Tower is in Paris."},
        {"id": "c2", "text": "Der Eiffelturm steht in Paris."},
        {"id": "c3", "text": "Bananas are rich in potassium."},
        {"id": "c4", "text": "Bananen enthalten viel Kalium."},
        {"id": "c5", "text": "The Nile is the longest river in Africa."},
    ]
    (d / "candidates.jsonl").write_text("\n".join(json.dumps(c) for c in cands) + "\n")
    qs = [
        {"id": "q1", "text": "Where is the Eiffel Tower?", "relevant": ["c1", "c2"]},
        {"id": "q2", "text": "Which fruit contains potassium?", "relevant": ["c3", "c4"]},
    ]
    (d / "queries.en.jsonl").write_text("\n".join(json.dumps(q) for q in qs) + "\n")
    cfg = parse_config(
        {
            "name": "rk",
            "model": "offline",
            "baseline": True,
            "retrieval": {"tasks": ["lareqa"], "languages": ["en"], "checkpoints": ["pretrained"]},
        }
    )
    plan = build_plan(cfg, data_dir=str(tmp_path))
    assert plan.counts() == {"retrieve": 1}
    LocalExecutor().run(plan, tmp_path / "out")
    df = ResultsStore(tmp_path / "out").frame()
    got = {r.metric: r.value for r in df.itertuples()}
    assert got["map"] == pytest.approx(1.0) and got["mrr"] == pytest.approx(1.0)


def _tatoeba_bucc(tmp_path, shared_data, langs, n_tatoeba, n_bucc, steps, precision="fp32"):
    cfg = parse_config(
        {
            "name": "retrieval",
            "model": "offline",
            "baseline": True,
            "intermediate": ["siqa"],
            "task_overrides": {"siqa": {"train_split": "dev", "max_examples": 8 * steps}},
            "phases": {
                "intermediate": {
                    "max_steps": steps,
                    "batch_size": 8,
                    "max_length": 64,
                    "learning_rate": 5e-5,
                    "select_best": False,
                    "freeze_embeddings": True,
                }
            },
            "retrieval": {
                "tasks": ["tatoeba", "bucc2018"],
                "languages": {"tatoeba": langs, "bucc2018": ["zh"]},
                "max_examples": None,
                "checkpoints": ["pretrained", "intermediate"],
                "precision": precision,
            },
        }
    )
    # per-task sizes: Tatoeba pairs, BUCC sentences per side
    plan = build_plan(cfg, data_dir=str(shared_data))
    for s in plan.steps.values():
        if s.kind == "retrieve":
            s.params["max_examples"] = n_tatoeba if s.params["task"] == "tatoeba" else n_bucc
    assert plan.counts() == {"retrieve": 4, "train": 1}
    t0 = time.perf_counter()
    LocalExecutor().run(plan, tmp_path)
    secs = time.perf_counter() - t0
    df = ResultsStore(tmp_path).frame()
    table = df.pivot_table(
        index=["task", "language", "split", "metric"], columns="intermediate", values="value"
    )
    return df, table, secs


@pytest.mark.slow
def test_tatoeba_and_bucc_before_and_after_intermediate(tmp_path, shared_data):
    langs = ["de", "zh", "kab"]
    df, table, secs = _tatoeba_bucc(tmp_path, shared_data, langs, 100, 150, steps=3)
    print(f"\n{secs:.1f}s\n{table.to_string()}")
    assert list(table.columns) == ["none", "siqa"]  # one table, both checkpoints
    acc = table.loc[("tatoeba", slice(None), "test", "accuracy")]
    assert sorted(acc.index.get_level_values(0)) == sorted(langs)  # averages: on read
    assert not acc.isna().any().any()
    # e5 aligns German and Chinese with English well; Kabyle much less
    assert acc.loc["de", "none"].item() > 0.85 and acc.loc["zh", "none"].item() > 0.85
    assert acc.loc["kab", "none"].item() < acc.loc["de", "none"].item()
    both = table.loc[("tatoeba", "de", "test")]
    assert {"accuracy", "accuracy_xx_en", "accuracy_en_xx"} <= set(both.index)
    bucc = table.loc[("bucc2018", "zh")]
    assert {"dev-heldout", "dev-oracle"} == set(bucc.index.get_level_values(0))
    assert bucc.loc[("dev-heldout", "f1"), "none"] > 0.5
    # oracle (tuned on what it scores) is at least as good as... itself tuned on half
    assert bucc.loc[("dev-oracle", "f1"), "none"] >= bucc.loc[("dev-heldout", "f1"), "none"] - 0.1
    # rows from the trained encoder come from a different step than the pretrained ones
    steps = df.groupby("intermediate")["step"].unique()
    assert set(steps["none"]).isdisjoint(steps["siqa"])


@pytest.mark.slow
def test_bf16_retrieval_matches_fp32_on_real_tatoeba(tmp_path, shared_data, offline_encoder):
    """bf16 inference (used by the full runs) scores what fp32 scores, within a point or two."""
    from xstilts.evaluation.protocols.retrieval import embed
    from xstilts.experiments.pipeline import build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.models.model import inference_dtype

    model, tok = build_model(resolve_model(str(offline_encoder)), {})
    # two models: casting bf16 weights back to fp32 would keep their rounding
    models = {"fp32": model, "bf16": copy.deepcopy(model).to(dtype=inference_dtype("bf16"))}
    accs = {}
    for lang in ("de", "zh", "kab"):
        ex = _tatoeba_examples(shared_data, lang, 300)
        a, b = [e["text_a"] for e in ex], [e["text_b"] for e in ex]
        for prec, m in models.items():
            xa, xb = (embed(m, tok, t, layer=12, prefix="query: ") for t in (a, b))
            assert xa.dtype == torch.float32  # pooled and searched in fp32
            accs[(lang, prec)] = tatoeba_scores(xa, xb)["accuracy"]
    print("\nTatoeba accuracy fp32 / bf16:", accs)
    for lang in ("de", "zh", "kab"):
        assert abs(accs[(lang, "bf16")] - accs[(lang, "fp32")]) <= 0.02, lang
    # the step key sees the precision; fp32 keeps the key it had before the option existed
    cfgs = [
        parse_config({"model": "offline", "retrieval": {"tasks": ["tatoeba"], **extra}})
        for extra in ({}, {"precision": "bf16"})
    ]
    plans = [build_plan(c, data_dir=str(shared_data)) for c in cfgs]
    steps = [[s for s in p.steps.values() if s.kind == "retrieve"] for p in plans]
    assert "precision" not in steps[0][0].params and steps[1][0].params["precision"] == "bf16"
    assert steps[0][0].key != steps[1][0].key


def _tatoeba_examples(shared_data, lang, n):
    from xstilts.data.sources import load_examples

    return load_examples(get_task("tatoeba"), "test", lang, shared_data, limit=n)[0]


@pytest.mark.full
def test_tatoeba_all_112_and_full_bucc(tmp_path, shared_data):
    langs = list(get_task("tatoeba").languages)
    assert len(langs) == 112
    # bf16 inference (a 3-4x speed-up on this CPU's AMX units; agreement with fp32 is tested)
    df, table, secs = _tatoeba_bucc(
        tmp_path, shared_data, langs, None, None, steps=50, precision="bf16"
    )
    print(f"\nfull run: {secs:.0f}s\n{table.to_string()}")
    (tmp_path / "table.txt").write_text(table.to_string())
    acc = table.loc[("tatoeba", slice(None), "test", "accuracy")]
    assert len(acc) == 113


# ----------------------------------------------------------------------------- aggregation


def _row(task, lang, value, *, target, metric="accuracy", split="test", inter="none"):
    return {
        "run_id": "r",
        "config_hash": "h",
        "model": "m",
        "intermediate": inter,
        "seed": 1,
        "target": target,
        "task": task,
        "language": lang,
        "split": split,
        "perturbation": "none",
        "metric": metric,
        "value": value,
        "step": "s",
        "extra": {},
    }


def test_aggregate_benchmark_as_xtreme():
    xnli = get_task("xnli").languages
    pawsx = get_task("pawsx").languages
    tat = get_task("tatoeba").defaults["benchmark_languages"]["xtreme"]
    rows = [_row("xnli", lang, 0.8, target="xnli") for lang in xnli]
    rows += [_row("pawsx", lang, 0.6 if lang == "en" else 0.9, target="pawsx") for lang in pawsx]
    rows += [_row("xnli", "avg", 0.0, target="xnli")]  # per-step averages are ignored
    rows += [_row("tatoeba", lang, 0.5, target="none") for lang in tat]
    rows += [_row("tatoeba", "kab", 0.0, target="none")]  # not an XTREME language: ignored
    rows += [_row("tatoeba", "de", 0.99, target="xnli")]  # after target training: ignored
    rows += [_row("bucc2018", "zh", 0.7, target="none", metric="f1", split="dev-heldout")]
    rows += [_row("bucc2018", "zh", 0.95, target="none", metric="f1", split="dev-oracle")]
    df = pd.DataFrame(rows)
    ts = task_scores(df, "xtreme").set_index("task")
    assert ts.loc["xnli", "score"] == pytest.approx(0.8)
    assert ts.loc["pawsx", "score"] == pytest.approx((0.6 + 6 * 0.9) / 7)  # English included
    assert ts.loc["tatoeba", "score"] == pytest.approx(0.5)
    assert ts.loc["bucc2018", "score"] == pytest.approx(0.7)  # held-out, not oracle
    assert ts.loc["bucc2018", "n_languages"] == 1 and len(ts.loc["bucc2018", "missing"]) == 3
    agg = aggregate_benchmark(df, "xtreme").set_index("metric")
    assert set(agg.task) == {"xtreme"} and set(agg.language) == {"avg"}
    cls = (0.8 + (0.6 + 6 * 0.9) / 7) / 2
    ret = (0.7 + 0.5) / 2
    assert agg.loc["category:classification", "value"] == pytest.approx(cls)
    assert agg.loc["category:retrieval", "value"] == pytest.approx(ret)
    # categories without results are absent; the overall score is evaluate.py's all_task rule,
    # the mean of the task scores (not of the category means), over those present, and the row
    # says it is incomplete
    pawsx = (0.6 + 6 * 0.9) / 7
    assert agg.loc["score", "value"] == pytest.approx((0.8 + pawsx + 0.5 + 0.7) / 4)
    assert agg.loc["score", "extra"]["complete"] is False
    assert not math.isnan(agg.loc["task:tatoeba", "value"])
