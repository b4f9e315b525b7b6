"""Blocked cosine search, Tatoeba accuracy, LASER/XTREME BUCC mining and thresholds, mAP@k."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xstilts.errors import ConfigError
from xstilts.evaluation import metrics_retrieval  # noqa: F401  (registers the metrics)
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.retrieval import (
    bucc_optimize_threshold,
    bucc_scores,
    candidates_to_ids,
    mine,
    mine_bucc,
    topk_cosine,
)


def brute_topk(q: np.ndarray, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    kn = k / np.linalg.norm(k, axis=1, keepdims=True)
    sims = qn @ kn.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
    return np.take_along_axis(sims, order, 1), order


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_topk_matches_brute_force(block: int) -> None:
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(23, 8)), rng.normal(size=(31, 8))
    s, i = topk_cosine(q, k, 5, block=block)
    bs, bi = brute_topk(q, k, 5)
    assert (i.numpy() == bi).all()
    assert np.allclose(s.numpy(), bs, atol=1e-5)


@pytest.mark.parametrize("block", [1, 2, 4, 100])
def test_ties_go_to_lowest_index(block: int) -> None:
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    keys = torch.cat([base, 2 * base, base])  # rows 0, 2, 4 identical in direction
    s, i = topk_cosine(base, keys, 3, block=block)
    assert i.tolist() == [[0, 2, 4], [1, 3, 5]]
    s, i = topk_cosine(torch.tensor([[1.0, 1.0]]), keys, 6, block=block)
    assert i.tolist() == [[0, 1, 2, 3, 4, 5]]  # all tie at cos = 0.707


def test_topk_k_larger_than_keys_and_errors() -> None:
    s, i = topk_cosine(torch.ones(2, 3), torch.ones(1, 3), 4)
    assert i.shape == (2, 1)
    with pytest.raises(ConfigError):
        topk_cosine(torch.ones(2, 3), torch.ones(2, 4), 1)
    with pytest.raises(ConfigError):
        topk_cosine(torch.tensor([[float("nan"), 1.0]]), torch.ones(2, 2), 1)
    with pytest.raises(ConfigError):
        topk_cosine(torch.ones(0, 2), torch.ones(2, 2), 1)


def test_tatoeba_accuracy_hand_case() -> None:
    src = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    tgt = [[1.0, 0.1], [0.1, 1.0], [-1.0, -1.0]]
    out = compute("tatoeba", src_embeddings=src, tgt_embeddings=tgt)
    # src 2 ties between tgt 0 and 1 -> lowest index 0 (wrong); tgt 2 ties between src 0 and 1 -> 0
    assert out["accuracy"] == pytest.approx(2 / 3)
    assert out["accuracy_src2tgt"] == pytest.approx(2 / 3) and out[
        "accuracy_tgt2src"
    ] == pytest.approx(2 / 3)
    assert (
        compute("tatoeba", src_embeddings=src, tgt_embeddings=src, direction="tgt2src")["accuracy"]
        == 1.0
    )
    with pytest.raises(ConfigError):
        compute("tatoeba", src_embeddings=src, tgt_embeddings=tgt[:2])


def laser_reference(
    x: np.ndarray, y: np.ndarray, k: int, mode: str
) -> list[tuple[int, int, float]]:
    """A direct transcription of LASER mine_bitexts.py (ratio margin), on full matrices."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    sim = x @ y.T
    kx, ky = min(k, y.shape[0]), min(k, x.shape[0])
    x2y_ind = np.argsort(-sim, axis=1, kind="stable")[:, :kx]
    y2x_ind = np.argsort(-sim.T, axis=1, kind="stable")[:, :ky]
    x2y_mean = np.take_along_axis(sim, x2y_ind, 1).mean(1)
    y2x_mean = np.take_along_axis(sim.T, y2x_ind, 1).mean(1)
    fwd = np.array(
        [[sim[i, j] / ((x2y_mean[i] + y2x_mean[j]) / 2) for j in x2y_ind[i]] for i in range(len(x))]
    )
    bwd = np.array(
        [[sim[i, j] / ((y2x_mean[j] + x2y_mean[i]) / 2) for i in y2x_ind[j]] for j in range(len(y))]
    )
    fwd_best = x2y_ind[np.arange(len(x)), fwd.argmax(1)]
    bwd_best = y2x_ind[np.arange(len(y)), bwd.argmax(1)]
    if mode == "forward":
        return [(i, int(j), fwd[i].max()) for i, j in enumerate(fwd_best)]
    if mode == "backward":
        return [(int(i), j, bwd[j].max()) for j, i in enumerate(bwd_best)]
    if mode == "intersect":
        return [(i, int(j), fwd[i].max()) for i, j in enumerate(fwd_best) if bwd_best[j] == i]
    idx = np.stack(
        (
            np.concatenate((np.arange(len(x)), bwd_best)),
            np.concatenate((fwd_best, np.arange(len(y)))),
        ),
        1,
    )
    scores = np.concatenate((fwd.max(1), bwd.max(1)))
    seen_s, seen_t, out = set(), set(), []
    for n in np.argsort(-scores, kind="stable"):
        s, t = idx[n]
        if s not in seen_s and t not in seen_t:
            seen_s.add(s)
            seen_t.add(t)
            out.append((int(s), int(t), scores[n]))
    return out


@pytest.mark.parametrize("mode", ["forward", "backward", "intersect", "max"])
def test_mine_matches_laser(mode: str) -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=(40, 16))
    x = np.concatenate([y[:25] + 0.3 * rng.normal(size=(25, 16)), rng.normal(size=(10, 16))])
    got = mine(x, y, k=4, mode=mode, block=7)
    ref = laser_reference(x, y, 4, mode)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in ref]
    assert np.allclose([s for *_, s in got], [s for *_, s in ref], atol=1e-5)


def test_margin_hand_case() -> None:
    # k = 1: each side's neighbourhood mean is its best cosine; x0 <-> y0 are each other's best
    x = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    y = torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    # cos: x0y0 .8, x0y1 0, x1y0 .96, x1y1 .8; nn means: x0 .8, x1 .96, y0 .96, y1 .8
    pairs = mine(x, y, k=1, mode="forward")
    assert [(i, j) for i, j, _ in pairs] == [(0, 0), (1, 0)]
    assert pairs[0][2] == pytest.approx(0.8 / ((0.8 + 0.96) / 2))
    assert pairs[1][2] == pytest.approx(0.96 / ((0.96 + 0.96) / 2))
    # max mode: (1, 0) scores 1.0 first; then x0 may not reuse y0, y1's best is x1 (used)
    assert [(i, j) for i, j, _ in mine(x, y, k=1, mode="max")] == [(1, 0)]
    assert mine(x, y, k=1, mode="forward", threshold=0.95) == [pairs[1]]


def test_bucc_threshold_and_scores_hand_case() -> None:
    cands = {("a", "1"): 0.9, ("b", "2"): 0.8, ("c", "3"): 0.7, ("d", "4"): 0.6}
    gold = [("a", "1"), ("c", "3"), ("e", "5")]
    # F1 after each: .5 (th .85), .4, .667 (th .65), .571 -> best .65
    assert bucc_optimize_threshold(cands, gold) == pytest.approx(0.65)
    out = compute("bucc2018", candidates=cands, gold=gold)
    assert out["threshold"] == pytest.approx(0.65)
    assert (out["precision"], out["recall"], out["f1"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # a dev threshold applied to test; >= keeps a candidate exactly at the threshold
    test = [("a", "1", 0.5), ("c", "3", 0.95), ("d", "4", 0.96)]
    out = compute("bucc2018", candidates=test, gold=gold, threshold=0.95)
    assert (out["precision"], out["recall"]) == pytest.approx((1 / 2, 1 / 3))
    # best cut at the last candidate: the threshold is its own score (script would overrun)
    assert bucc_optimize_threshold({("a", "1"): 0.3, ("c", "3"): 0.2}, gold) == pytest.approx(0.2)
    assert bucc_scores({("x", "y"): 1.0}, gold, 0.0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    with pytest.raises(ConfigError):
        compute("bucc2018", candidates=cands, gold=[])


def test_candidates_to_ids_keeps_mined_indices() -> None:
    pairs = [(0, 1, 2.0)]
    assert candidates_to_ids(pairs, ["s0", "s1"], ["t0", "t1"]) == {("s0", "t1"): 2.0}


def test_mine_bucc_never_maps_a_repeated_sentence() -> None:
    # XTREME's read_sent2id drops sentences seen twice (after strip): their pairs vanish
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0.1], [0.1, 1.0]])
    cands = mine_bucc(x, y, ["s0", "s1", "s2"], ["t0", "t1"], ["same", "same ", "b"], ["x", "y"])
    assert set(cands) == {("s2", "t1")}


def test_bucc_end_to_end_on_real_ids(shared_data) -> None:
    from xstilts.data.readers import read

    (c,) = read("bucc", shared_data / "bucc2018/zh-en.dev")
    # embeddings that make gold pairs near-identical and everything else random
    g = torch.Generator().manual_seed(0)
    src_pos = {s: i for i, s in enumerate(c["src_ids"])}
    tgt_pos = {t: i for i, t in enumerate(c["tgt_ids"])}
    x = torch.randn(len(c["src_ids"]), 32, generator=g)
    y = torch.randn(len(c["tgt_ids"]), 32, generator=g)
    for s, t in c["gold"]:
        y[tgt_pos[t]] = x[src_pos[s]] + 0.01 * torch.randn(32, generator=g)
    cands = candidates_to_ids(mine(x, y, k=4), c["src_ids"], c["tgt_ids"])
    out = compute("bucc2018", candidates=cands, gold=c["gold"])
    assert out["f1"] > 0.95 and out["recall"] > 0.95


def test_ranking_hand_case() -> None:
    out = compute("ranking", rankings=[["a", "b", "c", "d"]], relevant=[{"b", "d"}], k=20)
    assert out == pytest.approx({"map": 0.5, "mrr": 0.5, "recall": 1.0})
    out = compute(
        "ranking", rankings=[["a", "b", "c", "d"], ["x"]], relevant=[{"b", "d"}, {"y"}], k=3
    )
    assert out["map"] == pytest.approx((0.25 + 0) / 2)  # AP@3 = (1/2) / min(2, 3)
    assert out["recall"] == pytest.approx((0.5 + 0) / 2)
    assert compute("ranking", rankings=[["a", "a", "b"]], relevant=[{"a", "b"}])[
        "map"
    ] == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(ConfigError):
        compute("ranking", rankings=[["a"]], relevant=[set()])
    with pytest.raises(ConfigError):
        compute("ranking", rankings=[["a"]], relevant=[{"a"}, {"b"}])
