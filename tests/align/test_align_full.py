"""Long alignment runs on the real encoder, excluded from CI (``pytest -m full tests/align``)."""

from __future__ import annotations

import pytest

from xstilts.align.config import AlignmentConfig
from xstilts.align.hidden import Checkpoint
from xstilts.align.run import run_alignment
from xstilts.models.encoder import resolve_model
from xstilts.tasks.registry import get_task

pytestmark = pytest.mark.full


def _best(rows, metric, language="avg"):
    """Best layer of a clean curve; ``avg``: the mean over the languages, computed on read."""
    per_layer: dict[int, list[float]] = {}
    for r in rows:
        if r.metric == metric and r.perturbation == "none" and r.language != "all":
            if language in ("avg", r.language):
                per_layer.setdefault(r.extra["layer"], []).append(r.value)
    curve = {k: sum(v) / len(v) for k, v in per_layer.items()}
    layer = max(curve, key=curve.get)
    return layer, curve[layer], curve


def test_tatoeba_xtreme_36_languages_full_size(shared_data):
    """XTREME's 36 Tatoeba languages, 1000 pairs each, pretrained encoder."""
    xtreme = sorted(get_task("tatoeba").defaults["benchmark_languages"]["xtreme"])
    acfg = AlignmentConfig(inputs=["tatoeba"], languages=xtreme, max_sentences=None,
                           metrics=["retrieval"])  # fmt: skip
    rows = run_alignment([Checkpoint("pretrained", resolve_model(None))], acfg,
                         data_dir=shared_data)  # fmt: skip
    layer, acc, curve = _best(rows, "tatoeba_acc")
    print(f"\nTatoeba-36 best layer L{layer}: {acc:.4f}; per layer:",
          " ".join(f"{curve[k]:.3f}" for k in sorted(curve)))  # fmt: skip
    assert acc > 0.5 and layer > 0


def test_bucc_zh_en_dev_per_layer(shared_data):
    """BUCC 2018 zh-en dev (8.6k x 13.6k sentences) mined at every layer."""
    acfg = AlignmentConfig(inputs=["bucc2018"], languages=["zh"], max_sentences=None,
                           metrics=["retrieval"])  # fmt: skip
    rows = run_alignment([Checkpoint("pretrained", resolve_model(None))], acfg,
                         data_dir=shared_data)  # fmt: skip
    layer, f1, curve = _best(rows, "bucc_f1", "zh")
    print(f"\nBUCC zh-en best layer L{layer}: F1 {f1:.4f}; per layer:",
          " ".join(f"{curve[k]:.3f}" for k in sorted(curve)))  # fmt: skip
    assert f1 > 0.3 and f1 > curve[0]


def test_bucc_subsample_quick(shared_data):
    """A subsampled BUCC corpus (gold pairs kept, distractors sampled) still mines."""
    acfg = AlignmentConfig(inputs=["bucc2018"], languages=["zh"], max_sentences=400,
                           metrics=["retrieval"], layers=[0, 8, 12])  # fmt: skip
    rows = run_alignment([Checkpoint("pretrained", resolve_model(None))], acfg,
                         data_dir=shared_data)  # fmt: skip
    f1 = {r.extra["layer"]: r.value for r in rows if r.metric == "bucc_f1"}
    assert rows[0].extra["n_gold"] == 100 and rows[0].extra["n_src"] == 400
    assert f1[8] > f1[0]
