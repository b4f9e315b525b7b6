"""Retrieval metrics: Tatoeba accuracy, BUCC 2018 mining F1, and ranking metrics (mAP@k, MRR).

All values 0..1 (XTREME prints 0..100). See ``xstilts.evaluation.retrieval`` for the search and
mining they build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import metric
from xstilts.evaluation.retrieval import (
    as_matrix,
    bucc_optimize_threshold,
    bucc_scores,
    nearest,
)


@metric("tatoeba", inputs=("src_embeddings", "tgt_embeddings"), main="accuracy")
def tatoeba(
    src_embeddings: Any,
    tgt_embeddings: Any,
    direction: Literal["src2tgt", "tgt2src"] = "src2tgt",
    block: int = 2048,
    **_: Any,
) -> dict[str, float]:
    """Top-1 cosine accuracy of row i finding row i (ties: lowest index).

    ``src`` is the non-English side; ``accuracy`` is the chosen direction (default xx -> en, as the
    LASER paper's error rate). XTREME's ``run_retrieval.py`` indexes the source side and searches it
    with the English sentences (en -> xx): both directions are returned.
    """
    s, t = as_matrix(src_embeddings, "src_embeddings"), as_matrix(tgt_embeddings, "tgt_embeddings")
    if s.shape[0] != t.shape[0]:
        raise ConfigError(
            f"{s.shape[0]} source vs {t.shape[0]} target rows (must be aligned)", where="metrics"
        )
    gold = torch.arange(s.shape[0])
    s2t = float((nearest(s, t, block=block) == gold).float().mean())
    t2s = float((nearest(t, s, block=block) == gold).float().mean())
    if direction not in ("src2tgt", "tgt2src"):
        raise ConfigError(
            f"direction must be src2tgt or tgt2src, not {direction!r}", where="metrics"
        )
    return {
        "accuracy": s2t if direction == "src2tgt" else t2s,
        "accuracy_src2tgt": s2t,
        "accuracy_tgt2src": t2s,
    }


@metric("bucc2018", inputs=("candidates", "gold"), main="f1")
def bucc2018(
    candidates: Any, gold: Any, threshold: float | None = None, **_: Any
) -> dict[str, float]:
    """BUCC mining precision / recall / F1 at ``threshold``; without one, the F1-optimal threshold
    on these candidates (tune on dev, then pass dev's ``threshold`` when scoring test).

    ``candidates``: ``{(src_id, tgt_id): score}`` or ``(src_id, tgt_id, score)`` triples
    (see ``retrieval.mine`` and ``retrieval.candidates_to_ids``); ``gold``: id pairs.
    """
    th = bucc_optimize_threshold(candidates, gold) if threshold is None else float(threshold)
    return {**bucc_scores(candidates, gold, th), "threshold": th}


def _ranking_inputs(rankings: Any, relevant: Any) -> list[tuple[list, set]]:
    if not isinstance(rankings, Sequence) or not isinstance(relevant, Sequence):
        raise ConfigError("rankings and relevant must be lists (one per query)", where="metrics")
    if len(rankings) != len(relevant):
        raise ConfigError(
            f"{len(rankings)} rankings vs {len(relevant)} relevance sets", where="metrics"
        )
    if not rankings:
        raise ConfigError("no queries to score", where="metrics")
    out = []
    for q, (rank, rel) in enumerate(zip(rankings, relevant, strict=True)):
        if isinstance(rank, (str, bytes)) or isinstance(rel, (str, bytes)):
            raise ConfigError(
                f"query {q}: rankings and relevant must be lists of ids", where="metrics"
            )
        # Mewsli-X's evaluate (XTREME third_party/utils_mewslix.py) strips gold ids, not predictions
        rel = {r.strip() if isinstance(r, str) else r for r in rel}
        if not rel:
            raise ConfigError(f"query {q} has no relevant items", where="metrics")
        out.append((list(rank), rel))
    return out


def average_precision_at_k(ranked: Sequence, relevant: set, k: int | None) -> float:
    """AP@k as LAReQA / XTREME-R: mean of precision at each new hit, over ``min(|relevant|, k)``."""
    ranked = list(ranked[:k]) if k else list(ranked)
    score = hits = 0.0
    for i, item in enumerate(ranked):
        if item in relevant and item not in ranked[:i]:
            hits += 1
            score += hits / (i + 1)
    return score / (min(len(relevant), k) if k else len(relevant))


def reciprocal_rank(ranked: Sequence, relevant: set) -> float:
    for i, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


@metric("ranking", inputs=("rankings", "relevant"), main="map")
def ranking(rankings: Any, relevant: Any, k: int = 20, **_: Any) -> dict[str, float]:
    """mAP@k (XTREME-R's LAReQA / Mewsli-X metric, k=20), MRR (full ranking) and recall@k.

    With one relevant item per query (Mewsli-X) mAP@20 is Mewsli-X's ``evaluate``: the reciprocal
    rank of the gold id among the first 20 predictions (0 when absent), gold ids stripped.
    """
    if not isinstance(k, int) or k < 1:
        raise ConfigError("k must be a positive integer", where="metrics")
    items = _ranking_inputs(rankings, relevant)
    n = len(items)
    return {
        "map": sum(average_precision_at_k(r, rel, k) for r, rel in items) / n,
        "mrr": sum(reciprocal_rank(r, rel) for r, rel in items) / n,
        "recall": sum(recall_at_k(r, rel, k) for r, rel in items) / n,
    }
