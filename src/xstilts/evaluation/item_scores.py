"""Per-item scorers of the QA metrics (``xstilts.stats.items.ITEM_SCORES``): registered here,
next to the metric code they call, so that ``stats`` never imports ``evaluation``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xstilts.evaluation import metrics_qa as Q
from xstilts.evaluation.metrics_qa import gold_answers
from xstilts.stats.items import ITEM_SCORES, ItemScorer


def _qa(f1: Callable, em: Callable) -> ItemScorer:
    def score(rows: Sequence[dict[str, Any]], lang: str) -> dict[str, list[float]]:
        gold = gold_answers({str(r["id"]): r["gold"] for r in rows})
        out: dict[str, list[float]] = {"f1": [], "exact_match": []}
        for r in rows:
            pred, golds = str(r["prediction"] or ""), gold[str(r["id"])]
            out["f1"].append(max(f1(pred, g, lang) for g in golds))
            out["exact_match"].append(max(em(pred, g, lang) for g in golds))
        return out

    return score


ITEM_SCORES.register("squad")(
    _qa(lambda p, g, _l: Q.squad_f1(p, g), lambda p, g, _l: Q.squad_exact(p, g))
)
ITEM_SCORES.register("mlqa")(
    _qa(
        lambda p, g, lang: Q.mlqa_f1(p, g, lang.split("-")[0]),
        lambda p, g, lang: Q.mlqa_exact(p, g, lang.split("-")[0]),
    )
)
