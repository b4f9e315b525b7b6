"""``ranking`` (LAReQA, Mewsli-X): queries rank a shared candidate pool; mAP@k, MRR, recall@k.

The pool is embedded once per run and shared by every language that uses the same pool.
"""

from __future__ import annotations

import torch

from xstilts.data.sources import load_examples
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.protocols.retrieval import Retrieval, RetrievalKind, Scored, retrieval_kind
from xstilts.evaluation.retrieval import topk_cosine
from xstilts.tasks.spec import TaskSpec


@retrieval_kind("ranking")
class Ranking(RetrievalKind):
    default_k = 20

    def __init__(self) -> None:
        self.pools: dict[tuple, torch.Tensor] = {}

    def score(self, run: Retrieval, spec: TaskSpec, lang: str) -> list[Scored]:
        split = run.p.split
        (ex,), _ = load_examples(spec, split, lang, run.data_dir)
        key = (tuple(ex["cand_ids"]), len(ex["cand_texts"]))
        if key not in self.pools:
            self.pools[key] = run.embed(ex["cand_texts"])
        k = int(run.p.k if run.p.k is not None else self.default_k)
        q = ex["query_texts"]
        if run.p.max_examples:
            q = q[: run.p.max_examples]
        _, idx = topk_cosine(run.embed(q), self.pools[key], max(k, 1))
        rankings = [[ex["cand_ids"][j] for j in r] for r in idx.tolist()]
        scores = compute("ranking", rankings=rankings, relevant=ex["relevant"][: len(q)], k=k)
        return [(split, scores, {"n": len(q)})]
