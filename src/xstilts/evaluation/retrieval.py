"""Exact cosine nearest neighbours in blocks, and LASER/XTREME margin-based bitext mining.

``topk_cosine`` never materialises the full query x key similarity matrix: it walks query blocks x
key blocks and keeps a running top-k per query, so memory is ``block**2`` floats whatever the
corpus size. Ties are broken by the *lowest key index* (deterministic, unlike faiss), which the
running merge preserves with a stable descending sort.

``mine`` reproduces LASER's ``mine_bitexts.py`` (which XTREME's BUCC code calls): margin
``score(x, y) = margin(cos(x, y), (mean_k cos(x, NN_k(x)) + mean_k cos(y, NN_k(y))) / 2)``, i.e. for
the ratio margin ``cos(x, y) / (sum_{NN_k(x)} cos / 2k + sum_{NN_k(y)} cos / 2k)``; candidates are
each side's k nearest neighbours; retrieval modes forward / backward / intersect / max.

``mine_bucc`` is XTREME's whole BUCC candidate step (google-research/xtreme, commit 838c13b6,
``third_party/utils_retrieve.py``: ``mine_bitext`` then ``read_candidate2score``): repeated sentences
are merged before mining, pairs with margin <= 0 are dropped, and a mined sentence that occurs more
than once in its corpus is dropped, never mapped to an id. ``bucc_optimize_threshold`` and
``bucc_scores`` are ``bucc_optimize`` / ``bucc_extract`` of the same file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch

from xstilts.errors import ConfigError

Mode = Literal["forward", "backward", "intersect", "max"]
Margin = Literal["ratio", "distance", "absolute"]


def as_matrix(x: Any, name: str = "embeddings") -> torch.Tensor:
    """A finite 2-D float32 tensor (from a tensor, numpy array or nested lists)."""
    try:
        t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a 2-D array of numbers", where="retrieval") from None
    if t.dim() != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ConfigError(
            f"{name} must be a non-empty 2-D array, got shape {tuple(t.shape)}", where="retrieval"
        )
    t = t.to(torch.float32).cpu()
    if not torch.isfinite(t).all():
        raise ConfigError(f"{name} contain NaN or infinite values", where="retrieval")
    return t


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length; an all-zero row stays zero (cosine 0 with everything)."""
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _block_topk(sims: torch.Tensor, kk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top ``kk`` columns per row by (score desc, column asc), exact on ties.

    ``torch.topk`` picks arbitrarily among equal values, so it is trusted only for rows where the
    k-th and (k+1)-th values differ; rows tied across that boundary (rare with real embeddings)
    get a full stable sort, which keeps equal scores in ascending column order.
    """
    kk = min(kk, sims.shape[1])
    m = min(kk + 1, sims.shape[1])
    vals, pos = torch.topk(sims, m, dim=1)
    tied = (vals[:, kk - 1] == vals[:, kk]).nonzero()[:, 0] if m > kk else None
    vals, pos = vals[:, :kk], pos[:, :kk]
    by_col = torch.argsort(pos, dim=1)
    vals, pos = vals.gather(1, by_col), pos.gather(1, by_col)
    by_score = torch.sort(vals, dim=1, descending=True, stable=True).indices
    vals, pos = vals.gather(1, by_score), pos.gather(1, by_score)
    if tied is not None and tied.numel():
        order = torch.sort(sims[tied], dim=1, descending=True, stable=True).indices[:, :kk]
        vals[tied], pos[tied] = sims[tied].gather(1, order), order
    return vals, pos


@torch.no_grad()
def topk_cosine(
    queries: Any, keys: Any, k: int, *, block: int = 2048
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scores, indices)`` of each query's ``min(k, len(keys))`` most cosine-similar keys.

    Sorted by score descending, ties by lowest key index.
    """
    q, kx = l2_normalize(as_matrix(queries, "queries")), l2_normalize(as_matrix(keys, "keys"))
    if q.shape[1] != kx.shape[1]:
        raise ConfigError(
            f"queries have dim {q.shape[1]}, keys dim {kx.shape[1]}", where="retrieval"
        )
    if k < 1 or block < 1:
        raise ConfigError("k and block must be positive", where="retrieval")
    kk = min(k, kx.shape[0])
    out_s = torch.empty(q.shape[0], kk)
    out_i = torch.empty(q.shape[0], kk, dtype=torch.long)
    for qs in range(0, q.shape[0], block):
        qb = q[qs : qs + block]
        best_s = torch.empty(qb.shape[0], 0)
        best_i = torch.empty(qb.shape[0], 0, dtype=torch.long)
        for ks in range(0, kx.shape[0], block):
            kb = kx[ks : ks + block]
            blk_s, blk_pos = _block_topk(qb @ kb.T, kk)
            # kept candidates (lower indices, already tie-ordered) come first, so a stable sort of
            # the 2k merged candidates keeps ties in ascending index order
            cand_s, cand_i = torch.cat([best_s, blk_s], 1), torch.cat([best_i, blk_pos + ks], 1)
            order = torch.sort(cand_s, dim=1, descending=True, stable=True).indices[:, :kk]
            best_s, best_i = cand_s.gather(1, order), cand_i.gather(1, order)
        out_s[qs : qs + block], out_i[qs : qs + block] = best_s, best_i
    return out_s, out_i


def nearest(queries: Any, keys: Any, *, block: int = 2048) -> torch.Tensor:
    """Index of each query's most cosine-similar key (ties: lowest index)."""
    return topk_cosine(queries, keys, 1, block=block)[1][:, 0]


def _margin(a: torch.Tensor, b: torch.Tensor, kind: Margin) -> torch.Tensor:
    if kind == "ratio":
        return a / b
    if kind == "distance":
        return a - b
    return a


@torch.no_grad()
def mine(
    x: Any,
    y: Any,
    *,
    k: int = 4,
    mode: Mode = "max",
    margin: Margin = "ratio",
    threshold: float | None = None,
    block: int = 2048,
) -> list[tuple[int, int, float]]:
    """Mined ``(src_index, tgt_index, score)`` pairs, as LASER ``mine_bitexts.py --mode mine``.

    ``threshold``: keep only scores strictly above it. ``None`` is the official default: 0 in
    ``max`` mode (``mine_bitext(threshold=0)`` prints a pair only if ``scores[i] > threshold``, after
    marking both sentences as used), nothing in the other modes, where it applies no threshold; a
    value given applies in every mode. ``max`` mode greedily takes pairs by descending score, each
    sentence used at most once (ties: earlier candidate first).
    """
    if mode not in ("forward", "backward", "intersect", "max"):
        raise ConfigError(f"unknown mining mode {mode!r}", where="retrieval")
    if margin not in ("ratio", "distance", "absolute"):
        raise ConfigError(f"unknown margin {margin!r}", where="retrieval")
    x2y_sim, x2y_ind = topk_cosine(x, y, k, block=block)
    y2x_sim, y2x_ind = topk_cosine(y, x, k, block=block)
    x2y_mean, y2x_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    fwd = _margin(x2y_sim, (x2y_mean[:, None] + y2x_mean[x2y_ind]) / 2, margin)
    bwd = _margin(y2x_sim, (y2x_mean[:, None] + x2y_mean[y2x_ind]) / 2, margin)
    fwd_arg, bwd_arg = fwd.argmax(1), bwd.argmax(1)  # first maximum, as np.argmax
    fwd_best = x2y_ind.gather(1, fwd_arg[:, None])[:, 0]
    bwd_best = y2x_ind.gather(1, bwd_arg[:, None])[:, 0]
    fwd_max, bwd_max = fwd.max(1).values, bwd.max(1).values
    nx, ny = fwd.shape[0], bwd.shape[0]
    pairs: list[tuple[int, int, float]]
    if mode == "forward":
        pairs = [(i, int(fwd_best[i]), float(fwd_max[i])) for i in range(nx)]
    elif mode == "backward":
        pairs = [(int(bwd_best[j]), j, float(bwd_max[j])) for j in range(ny)]
    elif mode == "intersect":
        pairs = [
            (i, int(fwd_best[i]), float(fwd_max[i]))
            for i in range(nx)
            if int(bwd_best[fwd_best[i]]) == i
        ]
    else:
        src = torch.cat([torch.arange(nx), bwd_best])
        tgt = torch.cat([fwd_best, torch.arange(ny)])
        scores = torch.cat([fwd_max, bwd_max])
        order = torch.sort(scores, descending=True, stable=True).indices
        seen_s, seen_t, pairs = set(), set(), []
        for n in order.tolist():
            s, t = int(src[n]), int(tgt[n])
            if s not in seen_s and t not in seen_t:
                seen_s.add(s)
                seen_t.add(t)
                pairs.append((s, t, float(scores[n])))
    if threshold is None and mode == "max":
        threshold = 0.0
    if threshold is not None:
        pairs = [p for p in pairs if p[2] > threshold]
    return pairs


def unify(texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """XTREME's ``text_load_unify`` + ``unique_embeddings``: for each row its unique sentence's
    index, and for each unique sentence (first-seen order) the row whose embedding stands for it
    (the *last* occurrence, as ``unique_embeddings`` builds ``{unique: row}`` over all rows).

    Sentences are compared as read (only the line break removed), as ``text_load_unify`` does.
    """
    first: dict[str, int] = {}
    inds = [first.setdefault(t, len(first)) for t in texts]
    rep = [0] * len(first)
    for row, u in enumerate(inds):
        rep[u] = row
    return inds, rep


def sentence_ids(ids: Sequence[str], texts: Sequence[str]) -> dict[str, str]:
    """XTREME's ``read_sent2id``: stripped sentence -> stripped id, sentences seen twice removed."""
    out: dict[str, str] = {}
    repeated: set[str] = set()
    for i, t in zip(ids, texts, strict=True):
        t = t.strip()
        if t in out:
            repeated.add(t)
        else:
            out[t] = i.strip()
    for t in repeated:
        del out[t]
    return out


@torch.no_grad()
def mine_bucc(
    x: Any,
    y: Any,
    src_ids: Sequence[str],
    tgt_ids: Sequence[str],
    src_texts: Sequence[str],
    tgt_texts: Sequence[str],
    *,
    k: int = 4,
    block: int = 2048,
) -> dict[tuple[str, str], float]:
    """BUCC candidates ``(src_id, tgt_id) -> margin score`` exactly as XTREME's BUCC scripts.

    ``mine_bitext`` (retrieval ``max``, ratio margin, ``k`` neighbours, threshold 0) runs on the
    unique sentences of each side (``unify``); ``read_candidate2score`` maps a mined sentence back
    to its id only when the sentence occurs once in its corpus (``sentence_ids``), keeping the
    highest score per id pair. Gold pairs that involve a repeated sentence stay in the gold set
    (``bucc_eval`` reads the gold file as is), so they count as missed.
    """
    xs, ys = as_matrix(x, "src embeddings"), as_matrix(y, "tgt embeddings")
    if xs.shape[0] != len(src_texts) or ys.shape[0] != len(tgt_texts):
        raise ConfigError("one embedding row per sentence expected", where="retrieval")
    _, src_rep = unify(src_texts)
    _, tgt_rep = unify(tgt_texts)
    pairs = mine(xs[src_rep], ys[tgt_rep], k=k, mode="max", margin="ratio", block=block)
    s2id, t2id = sentence_ids(src_ids, src_texts), sentence_ids(tgt_ids, tgt_texts)
    out: dict[tuple[str, str], float] = {}
    for i, j, score in pairs:
        src, trg = src_texts[src_rep[i]].strip(), tgt_texts[tgt_rep[j]].strip()
        if src in s2id and trg in t2id:
            key = (s2id[src], t2id[trg])
            out[key] = max(score, out.get(key, score))
    return out


def candidates_to_ids(
    pairs: Iterable[tuple[int, int, float]], src_ids: Sequence[str], tgt_ids: Sequence[str]
) -> dict[tuple[str, str], float]:
    """``(src_id, tgt_id) -> score`` of mined row indices (no sentence merging; for BUCC as XTREME
    scores it, with repeated sentences, use ``mine_bucc``)."""
    return {(src_ids[i], tgt_ids[j]): s for i, j, s in pairs}


def _as_candidates(candidates: Any) -> dict[tuple[str, str], float]:
    if isinstance(candidates, Mapping):
        items = list(candidates.items())
    else:
        try:
            items = [((s, t), sc) for s, t, sc in candidates]
        except (TypeError, ValueError):
            raise ConfigError(
                "candidates must be (src, tgt, score) triples or a mapping", where="metrics"
            ) from None
    out: dict[tuple[str, str], float] = {}
    for key, sc in items:
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or isinstance(sc, bool)
            or not isinstance(sc, (int, float))
        ):
            raise ConfigError("candidates must map (src, tgt) to a numeric score", where="metrics")
        out[(str(key[0]), str(key[1]))] = float(sc)
    return out


def _as_gold(gold: Any) -> set[tuple[str, str]]:
    try:
        out = {(str(s), str(t)) for s, t in gold}
    except (TypeError, ValueError):
        raise ConfigError("gold must be (src_id, tgt_id) pairs", where="metrics") from None
    if not out:
        raise ConfigError("gold has no pairs", where="metrics")
    return out


def bucc_optimize_threshold(candidates: Any, gold: Any) -> float:
    """XTREME ``bucc_optimize``: the threshold between the best-F1 cut and the next candidate.

    Candidates are taken by descending score (stable); after each, if F1 improves, the threshold
    is the midpoint of its score and the next one's (the last candidate: its own score, where
    the original script would index past the end). 0 if nothing is ever correct.
    """
    cands, gold_set = _as_candidates(candidates), _as_gold(gold)
    items = sorted(cands.items(), key=lambda kv: -kv[1])
    nextract = ncorrect = 0
    threshold, best_f1 = 0.0, 0.0
    for n, (pair, score) in enumerate(items):
        nextract += 1
        if pair in gold_set:
            ncorrect += 1
        if ncorrect > 0:
            p, r = ncorrect / nextract, ncorrect / len(gold_set)
            f1 = 2 * p * r / (p + r)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[n + 1][1]) / 2 if n + 1 < len(items) else score
    return threshold


def bucc_scores(candidates: Any, gold: Any, threshold: float) -> dict[str, float]:
    """Precision / recall / F1 (0..1) of candidates with score >= threshold against gold."""
    cands, gold_set = _as_candidates(candidates), _as_gold(gold)
    extracted = {pair for pair, s in cands.items() if s >= threshold}
    correct = len(extracted & gold_set)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    p, r = correct / len(extracted), correct / len(gold_set)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}
