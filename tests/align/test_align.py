"""Alignment probes on the real offline encoder and real Tatoeba data (see conftest.align_run)."""

from __future__ import annotations

import math
from dataclasses import asdict
from types import SimpleNamespace

import pytest
import torch
from align_langs import TATOEBA_20

from xstilts.align.config import AlignmentConfig
from xstilts.align.hidden import COUNTERS, Checkpoint, encode_layers, layer_states
from xstilts.align.metrics import lang_id_accuracy, linear_cka, pair_geometry
from xstilts.align.run import run_alignment
from xstilts.errors import ConfigError
from xstilts.experiments.results import ResultsStore
from xstilts.models.encoder import resolve_model

N_LAYERS = 13  # multilingual-e5-small: embeddings + 12 layers
INT = "int:demo-nli"


def _with_avg(rows: list[dict]) -> list[dict]:
    """The rows plus, computed on read, an ``avg`` row per (series, metric, layer) over its
    languages (the probes store per-language rows only)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["language"] in ("avg", "all"):
            continue
        key = (r["task"], r["intermediate"], r["target"], r["perturbation"], r["metric"],
               r["extra"]["checkpoint"], r["extra"]["layer"], r["split"])  # fmt: skip
        groups.setdefault(key, []).append(r)
    avg = [
        {**g[0], "language": "avg", "value": sum(r["value"] for r in g) / len(g)}
        for g in groups.values()
        if len(g) > 1
    ]
    return rows + avg


def _rows(out, metric, language=None, perturbation="none"):
    return [
        r
        for r in _with_avg(ResultsStore(out).rows())
        if r["metric"] == metric
        and r["perturbation"] == perturbation
        and (language is None or r["language"] == language)
    ]


def _curve(rows, label):
    got = {r["extra"]["layer"]: r["value"] for r in rows if r["extra"]["checkpoint"] == label}
    return [got[L] for L in range(N_LAYERS)]


# -- the shared run: Tatoeba layer curves, 20 languages, pretrained vs after demo-nli ------------


def test_tatoeba_layer_curves_20_languages(align_run, tmp_path):
    out, _, plan, secs = align_run
    assert plan.counts() == {"train": 1, "align": 1}
    rows = _rows(out, "tatoeba_acc")
    langs = {r["language"] for r in rows} - {"avg"}
    assert langs == set(TATOEBA_20)
    for label in ("pretrained", INT):
        for lang in TATOEBA_20:
            layers = sorted(
                r["extra"]["layer"]
                for r in rows
                if r["language"] == lang and r["extra"]["checkpoint"] == label
            )
            assert layers == list(range(N_LAYERS)), (label, lang)
    avg = [r for r in rows if r["language"] == "avg"]
    pre, inter = _curve(avg, "pretrained"), _curve(avg, INT)
    best = max(range(N_LAYERS), key=lambda L: pre[L])
    print(f"\nTatoeba (20 langs, 30 pairs each) best layer pretrained: L{best} acc={pre[best]:.3f}; "
          f"after demo-nli: L{max(range(N_LAYERS), key=lambda L: inter[L])} "
          f"acc={max(inter):.3f}; run {secs:.0f}s")  # fmt: skip
    # the real encoder aligns languages: far above chance (1/30) at its best layer, and the upper
    # layers beat the embedding layer
    assert pre[best] > 0.6
    assert best >= 4 and pre[best] > pre[0] + 0.15
    # the checkpoint after training is a different curve, not a copy of the pretrained one
    assert any(abs(a - b) > 1e-3 for a, b in zip(pre, inter, strict=True))

    from xstilts.report.build import write_report
    from xstilts.report.tables import alignment_curves, best_layers

    curves = alignment_curves(ResultsStore(out).frame())
    b = best_layers(curves)
    tat = b[b["metric"] == "tatoeba_acc"].set_index("checkpoint")
    assert set(tat.index) == {"pretrained", INT}
    assert int(tat.loc["pretrained", "layer"]) == best
    files = write_report(out, tmp_path / "report")
    png = files["plots/alignment_layers.png"]
    assert png.stat().st_size > 20_000
    assert "cka_languages" in " ".join(files)  # the per-language CKA panel renders too


def test_pair_geometry_rows(align_run):
    out = align_run[0]
    margin = _curve(_rows(out, "pair_margin", "avg"), "pretrained")
    rank = _curve(_rows(out, "pair_rank", "avg"), "pretrained")
    assert all(m > 0 for m in margin)  # translations are closer than random pairs at every layer
    assert all(1.0 <= r <= 30 for r in rank)
    best = max(range(N_LAYERS), key=lambda L: margin[L])
    assert rank[best] < rank[0]  # where the margin peaks, translations rank higher than at L0


def test_cka_lower_where_training_changed_the_network(align_run):
    out = align_run[0]
    rows = _rows(out, "cka", "avg")
    cka = _curve(rows, f"{INT} vs pretrained")
    print("\nCKA (int:demo-nli vs pretrained, avg of 21 languages) per layer:",
          " ".join(f"{c:.4f}" for c in cka))  # fmt: skip
    assert all(0.0 < c <= 1.0 + 1e-6 for c in cka)
    first, last = sum(cka[1:4]) / 3, sum(cka[-3:]) / 3
    assert last < first - 0.01
    per_lang = {r["language"] for r in _rows(out, "cka")} - {"avg"}
    assert per_lang == set(TATOEBA_20) | {"en"}


def test_language_id_probe(align_run):
    out = align_run[0]
    rows = _rows(out, "lang_id_acc", "all")
    pre = _curve(rows, "pretrained")
    chance = rows[0]["extra"]["chance"]
    assert rows[0]["extra"]["n_languages"] == 21 and math.isclose(chance, 1 / 21)
    # embeddings of 21 languages (many scripts) are trivially language-specific
    assert pre[0] > 0.8 and pre[0] > 10 * chance
    assert len(_curve(rows, INT)) == N_LAYERS


def test_cka_identical_checkpoints_is_one(align_run, tmp_path, shared_data):
    """A saved copy of the pretrained encoder is re-encoded (new fingerprint) and gives CKA 1."""
    from xstilts.models.encoder import load_encoder
    from xstilts.models.model import MultiTaskModel, save_checkpoint

    ref = resolve_model(None)
    save_checkpoint(MultiTaskModel(load_encoder(ref)), tmp_path / "copy", {})
    pre, copy = Checkpoint("pretrained", ref), Checkpoint("copy", ref, tmp_path / "copy")
    assert pre.fingerprint != copy.fingerprint
    acfg = AlignmentConfig(
        inputs=["tatoeba"], languages=["de"], max_sentences=30, max_length=48,
        checkpoints=["pretrained"], metrics=["cka"],
    )  # fmt: skip
    misses = COUNTERS["cache_misses"]
    rows = run_alignment([pre, copy], acfg, data_dir=shared_data)
    assert COUNTERS["cache_misses"] - misses == 2  # the copy's two sides, the pretrained ones hit
    cka = [r for r in rows if r.metric == "cka" and r.language == "de"]
    assert len(cka) == N_LAYERS
    for r in cka:
        assert abs(r.value - 1.0) < 1e-5, (r.extra["layer"], r.value)


# -- perturbation ----------------------------------------------------------------------------


def test_perturbed_sentence_moves_further_as_rate_rises(align_run, shared_data):
    langs = ["de", "ru", "hi", "zh"]
    rates = [0.05, 0.1, 0.2, 0.4]
    acfg = AlignmentConfig(
        inputs=["tatoeba"], languages=langs, max_sentences=30, max_length=48,
        checkpoints=["pretrained"], metrics=["geometry"],
        perturbations=[{"name": "char_swap", "params": {"rate": r}, "seed": 3} for r in rates],
    )  # fmt: skip
    rows = run_alignment([Checkpoint("pretrained", resolve_model(None))], acfg,
                         data_dir=shared_data)  # fmt: skip
    assert {x.kind for x in rows} == {"alignment"}
    assert {x.params["rate"] for x in rows if x.perturbation != "none"} == set(rates)
    rows = [SimpleNamespace(**d) for d in _with_avg([asdict(x) for x in rows])]
    last = N_LAYERS - 1

    def cos(metric, lang, rate):
        (r,) = [x for x in rows if x.metric == metric and x.language == lang
                and x.perturbation == f"char_swap@{rate:g}" and x.extra["layer"] == last]  # fmt: skip
        return r.value

    avg = [cos("perturbed_self_cos", "avg", r) for r in rates]
    print("\nself-cos at the last layer by rate:", [round(v, 4) for v in avg])
    assert all(a > b for a, b in zip(avg, avg[1:], strict=False))
    assert avg[-1] < 0.99
    for lang in langs:
        assert cos("perturbed_self_cos", lang, 0.05) > cos("perturbed_self_cos", lang, 0.4)
        # a heavily perturbed sentence also drifts from its translation
        tr = [x for x in rows if x.metric == "perturbed_translation_cos" and x.language == lang
              and x.perturbation == "char_swap@0.4" and x.extra["layer"] == last][0]  # fmt: skip
        assert tr.value < tr.extra["clean_translation_cos"]
    series = {x.extra["checkpoint"] for x in rows if x.perturbation != "none"}
    assert "pretrained [char_swap@0.4]" in series  # perturbed curves stay apart in the report


# -- hidden-state cache ----------------------------------------------------------------------


def test_hidden_state_cache_is_hit_on_second_call(offline_encoder, tmp_path):
    ck = Checkpoint("pretrained", resolve_model(None))
    texts = ["Der Hund schläft.", "A much longer English sentence about nothing at all, really.",
             "猫がいる。", "Привет"]  # fmt: skip
    before = COUNTERS["forward_batches"]
    a = layer_states(ck, texts, batch_size=2, cache_dir=tmp_path)
    mid = COUNTERS["forward_batches"]
    assert mid - before == 2  # 4 texts in batches of 2: one pass per batch, all layers at once
    hits = COUNTERS["cache_hits"]
    b = layer_states(ck, texts, batch_size=2, cache_dir=tmp_path)
    assert COUNTERS["forward_batches"] == mid  # no forward pass the second time
    assert COUNTERS["cache_hits"] == hits + 1
    assert a.shape == (N_LAYERS, 4, 384) and torch.equal(a, b)
    assert len(list(tmp_path.iterdir())) == 1
    # a different input set is a different entry (and a miss)
    layer_states(ck, texts[:2], batch_size=2, cache_dir=tmp_path)
    assert COUNTERS["forward_batches"] == mid + 1


def test_mean_pooling_ignores_padding(offline_encoder):
    model, tok = Checkpoint("pretrained", resolve_model(None)).load()
    short, long = "Kurz.", "Ein deutlich längerer Satz, der viel Padding für den kurzen erzeugt."
    alone = encode_layers(model, tok, [short])
    padded = encode_layers(model, tok, [long, short], batch_size=2)
    torch.testing.assert_close(alone[:, 0], padded[:, 1], atol=1e-4, rtol=1e-4)


# -- metric maths ----------------------------------------------------------------------------


def test_linear_cka_invariances_and_debiasing():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 32, generator=g)
    q, _ = torch.linalg.qr(torch.randn(32, 32, generator=g))
    assert abs(linear_cka(x, 3.0 * x @ q) - 1.0) < 1e-9  # rotation and isotropic scaling
    assert abs(linear_cka(x, x + 5.0) - 1.0) < 1e-9  # centering removes offsets
    y = torch.randn(200, 32, generator=g)
    biased, debiased = linear_cka(x, y), linear_cka(x, y, debiased=True)
    assert biased > 0.1  # independent features still look similar when n ~ dims
    assert abs(debiased) < 0.05
    with pytest.raises(ValueError):
        linear_cka(x, y[:10])


def test_pair_geometry_matches_evaluation_retrieval():
    from xstilts.evaluation.metrics_retrieval import tatoeba

    g = torch.Generator().manual_seed(1)
    s = torch.randn(50, 8, generator=g)
    t = s + 0.9 * torch.randn(50, 8, generator=g)
    t[7] = t[3]  # a tie: both must break it towards the lower index
    geo, ref = pair_geometry(s, t, block=16), tatoeba(s, t)
    assert geo["acc_src2tgt"] == pytest.approx(ref["accuracy_src2tgt"])
    assert geo["acc_tgt2src"] == pytest.approx(ref["accuracy_tgt2src"])
    sims = torch.nn.functional.normalize(s) @ torch.nn.functional.normalize(t).T
    off = sims[~torch.eye(50, dtype=torch.bool)].mean()
    assert geo["margin"] == pytest.approx(float(sims.diag().mean() - off), abs=1e-5)


def test_lang_id_probe_separates_and_fails_at_chance():
    g = torch.Generator().manual_seed(2)
    sep = {k: torch.randn(40, 16, generator=g) + 4 * torch.eye(16)[i] for i, k in enumerate("abc")}
    assert lang_id_accuracy(sep)["accuracy"] > 0.95
    same = {k: torch.randn(40, 16, generator=g) for k in "abc"}
    assert lang_id_accuracy(same)["accuracy"] < 0.7


# -- config and plan -------------------------------------------------------------------------


def test_config_section_and_plan(shared_data):
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.plan import build_plan

    base = {"model": "offline", "intermediate": ["demo-nli"], "target": "demo-sentiment"}
    cfg = parse_config({**base, "alignment": {"inputs": ["tatoeba", "xnli"],
                                              "languages": ["de", "sw"],
                                              "checkpoints": ["pretrained", "intermediate",
                                                              "target"]}})  # fmt: skip
    plan = build_plan(cfg, data_dir=str(shared_data))
    (step,) = [s for s in plan.steps.values() if s.kind == "align"]
    assert step.params["languages"] == {"tatoeba": ["de", "sw"], "xnli": ["de", "sw"]}
    labels = [c["label"] for c in step.params["checkpoints"]]
    assert labels == ["pretrained", "int:demo-nli", "tgt:demo-sentiment",
                      "tgt:demo-sentiment|int:demo-nli"]  # fmt: skip
    for role, key in step.deps.items():
        assert plan.steps[key].kind == "train", role
    # alignment alone (no target) is a valid experiment
    solo = parse_config({"model": "offline", "alignment": {"inputs": ["pawsx"]}})
    assert [s.kind for s in build_plan(solo, data_dir=str(shared_data)).steps.values()] == ["align"]
    with pytest.raises(ConfigError, match="alignment.*unknown key"):
        parse_config({**base, "alignment": {"inptus": ["tatoeba"]}})
    with pytest.raises(ConfigError, match="unknown input set"):
        parse_config({**base, "alignment": {"inputs": ["tatoba"]}})
    bad = parse_config({**base, "alignment": {"inputs": ["pawsx"], "languages": ["xx"]}})
    with pytest.raises(ConfigError, match="alignment.languages"):
        build_plan(bad, data_dir=str(shared_data))
