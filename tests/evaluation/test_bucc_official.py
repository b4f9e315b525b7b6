"""BUCC mining and scoring equal the stored outputs of XTREME's own scripts (repeats, margins <= 0).

References: ``xtreme_official/bucc_*`` from XTREME's unmodified ``utils_retrieve.py`` on the same
bit-identical embeddings (``bucc_corpora.py``); how they were made is in
``xtreme_official/PROVENANCE.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bucc_corpora import negative_margin_corpus, paired_embeddings, real_corpus, synthetic_corpus

from xstilts.evaluation.metrics import compute
from xstilts.evaluation.retrieval import bucc_scores, mine, mine_bucc, sentence_ids, unify

REF = Path(__file__).parent / "xtreme_official"


def _official(name: str) -> tuple[dict, set[tuple[str, str]]]:
    res = json.loads((REF / f"{name}.json").read_text())
    pred = {tuple(ln.split("\t")) for ln in (REF / f"{name}.predict.tsv").read_text().splitlines()}
    return res, pred


def _official_candidates(name: str, c: dict) -> dict[tuple[str, str], float]:
    """The mined lines mapped to ids as read_candidate2score does (unique sentences only)."""
    s2id = sentence_ids(c["src_ids"], c["src_texts"])
    t2id = sentence_ids(c["tgt_ids"], c["tgt_texts"])
    out = {}
    for ln in (REF / f"{name}.candidates.tsv").read_text(encoding="utf-8").splitlines():
        score, src, trg = ln.split("\t")
        if src.strip() in s2id and trg.strip() in t2id:
            out[(s2id[src.strip()], t2id[trg.strip()])] = float(score)
    return out


def _check(name: str, c: dict) -> dict[tuple[str, str], float]:
    cands = mine_bucc(c["x"], c["y"], c["src_ids"], c["tgt_ids"], c["src_texts"], c["tgt_texts"])
    got = compute("bucc2018", candidates=cands, gold=c["gold"])
    res, pred = _official(name)
    assert 100 * got["precision"] == pytest.approx(res["precision"], abs=1e-9)
    assert 100 * got["recall"] == pytest.approx(res["recall"], abs=1e-9)
    assert 100 * got["f1"] == pytest.approx(res["F1"], abs=1e-9)
    assert got["threshold"] == pytest.approx(res["best-threshold"], rel=1e-6)
    extracted = {pair for pair, s in cands.items() if s >= got["threshold"]}
    assert extracted == pred
    return cands


def test_repeated_sentences_as_xtreme() -> None:
    c = synthetic_corpus()
    cands = _check("bucc_synthetic", c)
    official = _official_candidates("bucc_synthetic", c)
    assert cands.keys() == official.keys()
    assert all(cands[k] == pytest.approx(official[k], rel=1e-5) for k in cands)
    # no id of a repeated sentence (exact or whitespace-only repeat) is ever a candidate ...
    repeated_src = {"de-000003", "de-000007", "de-000021", "de-000012", "de-000030"}
    repeated_src |= {"de-000018", "de-000033"}
    assert not {s for s, _ in cands} & repeated_src
    # ... yet gold pairs on repeats stay in the gold set: recall is over all 16 gold pairs
    res, pred = _official("bucc_synthetic")
    assert res["recall"] == pytest.approx(100 * len(pred & set(c["gold"])) / 16)


def test_margin_at_or_below_zero_is_dropped() -> None:
    c = negative_margin_corpus()
    every = mine(c["x"], c["y"], k=4, mode="max", threshold=float("-inf"))
    assert (1, 3) in {(i, j) for i, j, s in every if s < 0}  # the greedy pass keeps it ...
    cands = _check("bucc_negative_margin", c)
    assert ("fr-000001", "en-000003") not in cands  # ... and the default mining drops it
    assert cands.keys() == _official_candidates("bucc_negative_margin", c).keys()
    # zero vectors: margin exactly 0 is dropped too
    s = synthetic_corpus()
    _, rep = unify(s["src_texts"])
    zero_rows = {rep.index(r) for r in (10, 26, 39)}
    assert all(i not in zero_rows for i, _, _ in mine(s["x"][rep], s["y"], k=4))


def test_real_zh_en_dev_as_xtreme(shared_data) -> None:
    from xstilts.data.readers import read

    (ex,) = read("bucc", shared_data / "bucc2018/zh-en.dev")
    c = real_corpus(shared_data / "bucc2018", "zh")
    for f in ("src_ids", "src_texts", "tgt_ids", "tgt_texts"):
        assert ex[f] == c[f]
    assert sorted(ex["gold"]) == sorted(c["gold"])
    x, y = paired_embeddings(
        ex["src_ids"], ex["src_texts"], ex["tgt_ids"], ex["tgt_texts"], ex["gold"]
    )
    cands = _check("bucc_zh_en_dev", {**ex, "x": x, "y": y})
    # the real corpus has repeated sentences; none of their ids is a candidate
    rep_src = _repeated(ex["src_ids"], ex["src_texts"])
    assert rep_src and not {s for s, _ in cands} & rep_src


def _repeated(ids: list[str], texts: list[str]) -> set[str]:
    from collections import Counter

    n = Counter(t.strip() for t in texts)
    return {i for i, t in zip(ids, texts, strict=True) if n[t.strip()] > 1}


def test_bucc_scores_threshold_is_inclusive() -> None:
    # bucc_extract keeps score >= threshold
    out = bucc_scores({("a", "b"): 1.0, ("c", "d"): 0.5}, [("a", "b"), ("c", "d")], 1.0)
    assert out == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
