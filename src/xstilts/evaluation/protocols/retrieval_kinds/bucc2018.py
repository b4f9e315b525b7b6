"""``bucc2018``: mining as XTREME's ``utils_retrieve.py`` (``mine_bucc``: ratio margin, k=4 both
ways, ``max`` mode, repeated sentences merged and never mapped to ids, margins <= 0 dropped);
threshold tuned for F1.

Rows for ``dev-heldout`` (tuned on one seeded half of the dev source sentences, scored on the
other), ``dev-oracle`` (tuned and scored on all of dev) and, when a test split with gold exists,
``test`` (full-dev threshold).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch

from xstilts.data.sources import load_examples, resolve_local
from xstilts.errors import DataError, XstiltsError
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.protocols.retrieval import Retrieval, RetrievalKind, Scored, retrieval_kind
from xstilts.evaluation.retrieval import (
    bucc_optimize_threshold,
    bucc_scores,
    mine_bucc,
)
from xstilts.tasks.spec import TaskSpec


def subsample_corpus(ex: dict, n: int | None, seed: int) -> dict:
    """At most ``n`` sentences per side, gold sentences first (so a sample still has pairs)."""
    if n is None:
        return ex
    rng = random.Random(seed)
    out = dict(ex)
    gold_src = {s for s, _ in ex["gold"]}
    gold_tgt = {t for _, t in ex["gold"]}
    keep_sets = []
    for side, gold in (("src", gold_src), ("tgt", gold_tgt)):
        ids = ex[f"{side}_ids"]
        g = [i for i, sid in enumerate(ids) if sid in gold]
        o = [i for i, sid in enumerate(ids) if sid not in gold]
        rng.shuffle(g)
        rng.shuffle(o)
        keep = sorted((g + o)[:n])
        out[f"{side}_ids"] = [ids[i] for i in keep]
        out[f"{side}_texts"] = [ex[f"{side}_texts"][i] for i in keep]
        keep_sets.append(set(out[f"{side}_ids"]))
    out["gold"] = [(s, t) for s, t in ex["gold"] if s in keep_sets[0] and t in keep_sets[1]]
    return out


def split_halves(src_ids: list[str], seed: int) -> tuple[set[str], set[str]]:
    """A seeded split of the source ids into two halves (tuning half, held-out half)."""
    ids = sorted(set(src_ids))
    random.Random(seed).shuffle(ids)
    h = len(ids) // 2
    return set(ids[:h]), set(ids[h:])


def bucc_heldout(
    cands: dict[tuple[str, str], float], gold: list[tuple[str, str]], tune: set[str], held: set[str]
) -> dict[str, float]:
    """Threshold tuned on source ids ``tune``, precision/recall/F1 on source ids ``held``."""
    c_t = {p: s for p, s in cands.items() if p[0] in tune}
    c_h = {p: s for p, s in cands.items() if p[0] in held}
    g_t = [p for p in gold if p[0] in tune]
    g_h = [p for p in gold if p[0] in held]
    if not g_t or not g_h:
        raise DataError("too few gold pairs to split dev into two halves", where="bucc2018")
    th = bucc_optimize_threshold(c_t, g_t)
    return {**bucc_scores(c_h, g_h, th), "threshold": th}


def bucc_candidates(
    ex: dict, emb: Callable[[list[str]], torch.Tensor], k: int
) -> dict[tuple[str, str], float]:
    x, y = emb(ex["src_texts"]), emb(ex["tgt_texts"])
    return mine_bucc(x, y, *(ex[f] for f in ("src_ids", "tgt_ids", "src_texts", "tgt_texts")), k=k)


def optional_test(spec: TaskSpec, lang: str, data_dir: Path | None) -> dict | None:
    """The test corpus when its files (with gold) exist locally; None otherwise."""
    if not any(
        resolve_local(s, spec, lang, data_dir) is not None for s in spec.split_sources("test", lang)
    ):
        return None
    try:
        (ex,), _ = load_examples(spec, "test", lang, data_dir)
    except XstiltsError:
        return None
    return ex if ex["gold"] else None


@retrieval_kind("bucc2018")
class Bucc(RetrievalKind):
    default_k = 4

    def data_split(self, asked: str) -> str:
        return "dev"  # thresholds are tuned on dev; test (with gold) is read when it exists

    def score(self, run: Retrieval, spec: TaskSpec, lang: str) -> list[Scored]:
        p = run.p
        k = int(p.k if p.k is not None else self.default_k)
        (dev,), _ = load_examples(spec, "dev", lang, run.data_dir)
        dev = subsample_corpus(dev, p.max_examples, p.heldout_seed)
        cands = bucc_candidates(dev, run.embed, k)
        n = {"n_src": len(dev["src_ids"]), "n_tgt": len(dev["tgt_ids"])}
        tune, held = split_halves(dev["src_ids"], p.heldout_seed)
        heldout = bucc_heldout(cands, dev["gold"], tune, held)
        oracle = compute("bucc2018", candidates=cands, gold=dev["gold"])
        out: list[Scored] = [("dev-heldout", heldout, n), ("dev-oracle", oracle, n)]
        test = optional_test(spec, lang, run.data_dir)
        if test is not None:
            tc = bucc_candidates(test, run.embed, k)
            scores = compute(
                "bucc2018", candidates=tc, gold=test["gold"], threshold=oracle["threshold"]
            )
            out.append(("test", scores, {"n_src": len(test["src_ids"])}))
        return out
