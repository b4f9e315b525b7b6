"""``tatoeba``: aligned pairs, top-1 by cosine both ways.

``accuracy_xx_en`` (queries xx, index English) and ``accuracy_en_xx``; ``accuracy`` is en -> xx,
which is what XTREME's ``run_retrieval.py`` computes (it indexes the non-English side and searches
it with the English sentences).
"""

from __future__ import annotations

import torch

from xstilts.data.sources import load_examples
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.protocols.retrieval import Retrieval, RetrievalKind, Scored, retrieval_kind
from xstilts.tasks.spec import TaskSpec


def tatoeba_scores(src: torch.Tensor, tgt: torch.Tensor) -> dict[str, float]:
    """``src`` = non-English side, ``tgt`` = English, row i aligned with row i."""
    m = compute("tatoeba", src_embeddings=src, tgt_embeddings=tgt)
    return {
        "accuracy": m["accuracy_tgt2src"],  # en -> xx, as XTREME's run_retrieval.py
        "accuracy_xx_en": m["accuracy_src2tgt"],
        "accuracy_en_xx": m["accuracy_tgt2src"],
    }


@retrieval_kind("tatoeba")
class Tatoeba(RetrievalKind):
    def score(self, run: Retrieval, spec: TaskSpec, lang: str) -> list[Scored]:
        split = run.p.split
        ex, _ = load_examples(spec, split, lang, run.data_dir, limit=run.p.max_examples)
        scores = tatoeba_scores(
            run.embed([e["text_a"] for e in ex]), run.embed([e["text_b"] for e in ex])
        )
        return [(split, scores, {"n": len(ex)})]
