"""The ``retrieve`` step: retrieval tasks scored on an encoder's embeddings, no training.

Any checkpoint can be embedded (the pretrained encoder, the encoder after intermediate training,
or after target training), so a plan can measure what intermediate training does to the encoder's
cross-lingual alignment. Sentences are mean-pooled over the attention mask at one hidden layer
(``hidden_states[layer]``, 0 = embeddings) and searched exactly by cosine, in blocks
(``evaluation/retrieval.py``).

Which layer: XTREME's retrieval scripts use layer 7 (the 8th hidden state) for mBERT and XLM-R
base; sentence encoders trained for embeddings (e5) are used at their last layer. The table below
is the default per model; ``retrieval.layer`` in a config overrides it.

Per task kind (the task's first metric, see ``tasks/families/retrieval.py``):

* ``tatoeba``: aligned pairs; ``accuracy_xx_en`` (queries xx, index English) and
  ``accuracy_en_xx``. ``accuracy`` is en -> xx, which is what XTREME's ``run_retrieval.py`` computes
  (it indexes the non-English side and searches it with the English sentences).
* ``bucc2018``: LASER margin mining (ratio margin, k=4 both ways, ``max`` mode), candidates mapped
  to ids as XTREME's ``bucc_eval``; threshold tuned for F1. Rows for ``dev-heldout`` (tuned on one
  seeded half of the dev source sentences, scored on the other), ``dev-oracle`` (tuned and scored on
  all of dev) and, when a test split with gold exists, ``test`` (full-dev threshold).
* ``ranking`` (LAReQA, Mewsli-X): queries rank a shared candidate pool; mAP@k, MRR, recall@k.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from xstilts.data.readers import READERS, Example, _At, _get, read_jsonl
from xstilts.data.sources import data_fingerprint, load_examples, resolve_local
from xstilts.errors import ConfigError, DataError, XstiltsError, file_where
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.retrieval import (
    bucc_optimize_threshold,
    bucc_scores,
    candidates_to_ids,
    mine,
    topk_cosine,
)
from xstilts.experiments.results import ResultRow
from xstilts.experiments.steps import STEP_KINDS, Step, StepContext
from xstilts.models.encoder import EncoderRef
from xstilts.models.model import MultiTaskModel, inference_dtype
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec

# (substring of the model name, hidden-state index). First match wins; negative = from the top.
LAYER_DEFAULTS: list[tuple[str, int]] = [
    ("multilingual-e5", -1),  # trained as a sentence embedder: last layer
    ("e5-", -1),
    ("labse", -1),
    ("bert-base-multilingual", 7),  # XTREME (Hu et al., 2020), retrieval scripts
    ("xlm-roberta-base", 7),  # XTREME
    ("xlm-mlm-100-1280", 7),  # XTREME's XLM-100 runs use the same default layer
    # Not in XTREME's scripts: the same relative depth (8 of 12 hidden states -> 16 of 24).
    ("xlm-roberta-large", 16),
]
# Models trained as sentence encoders want an instruction prefix for symmetric similarity.
PREFIX_DEFAULTS: list[tuple[str, str]] = [("multilingual-e5", "query: "), ("e5-", "query: ")]


def default_layer(model_name: str, num_layers: int) -> int:
    """The hidden-state index used when the config names none (unknown models: last layer)."""
    low = model_name.lower()
    for pat, layer in LAYER_DEFAULTS:
        if pat in low:
            return layer if layer >= 0 else num_layers + 1 + layer
    return num_layers


def default_prefix(model_name: str) -> str:
    low = model_name.lower()
    return next((p for pat, p in PREFIX_DEFAULTS if pat in low), "")


@torch.inference_mode()
def embed(
    model: MultiTaskModel,
    tokenizer: Any,
    texts: list[str],
    *,
    layer: int,
    batch_size: int = 64,
    max_length: int = 128,
    prefix: str = "",
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Mean-pooled ``hidden_states[layer]`` of each text, float32 on CPU, in input order.

    Batches are formed from length-sorted texts (little padding); the result is put back in order.
    """
    n_states = model.encoder.config.num_hidden_layers + 1
    if not -n_states <= layer < n_states:
        raise ConfigError(
            f"layer {layer} out of range: the encoder has hidden states 0..{n_states - 1}",
            where="retrieval.layer",
        )
    was_training = model.training
    model.eval()
    enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)
    ids = enc["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out = torch.empty(len(ids), model.hidden_size)
    pad = tokenizer.pad_token_id or 0
    from xstilts.tasks.family import pad_ids

    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        x, mask = pad_ids([ids[i] for i in idx], pad)
        x, mask = x.to(device), mask.to(device)
        hs = model.encode(x, mask, output_hidden_states=True).hidden_states[layer].float()
        m = mask.unsqueeze(-1).to(hs.dtype)
        pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1e-6)
        out[idx] = pooled.cpu()
    model.train(was_training)
    return out


# --------------------------------------------------------------------------------------------
# ranking data (LAReQA, Mewsli-X): queries with relevant ids, one shared candidate pool
# --------------------------------------------------------------------------------------------


class RankingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: str  # path of the candidate pool, relative to the queries file


def _ranking_file(path: Path, with_relevant: bool) -> tuple[list[str], list[str], list[list[str]]]:
    ids, texts, rel, seen = [], [], [], set()
    for line, obj in read_jsonl(path):
        at = _At(path, line)
        if not isinstance(obj, dict):
            raise DataError("expected a JSON object per line", where=file_where(path, line))
        qid = str(_get(obj, "id", at, (str, int)))
        if qid in seen:
            raise DataError(f"duplicate id {qid!r}", where=file_where(path, line))
        seen.add(qid)
        ids.append(qid)
        texts.append(_get(obj, "text", at, str))
        if with_relevant:
            r = _get(obj, "relevant", at, list)
            if not r:
                raise DataError("query has no relevant ids", where=file_where(path, line))
            rel.append([str(v) for v in r])
    if not ids:
        raise DataError("no rows (empty file?)", where=file_where(path))
    return ids, texts, rel


@READERS.register("ranking_jsonl", config=RankingParams)
def read_ranking(path: Path, cfg: RankingParams) -> list[Example]:
    """One dict: queries (ids, texts, relevant candidate ids) and the candidate pool."""
    qids, qtexts, rel = _ranking_file(path, True)
    cpath = path.parent / cfg.candidates
    cids, ctexts, _ = _ranking_file(cpath, False)
    known = set(cids)
    for q, r in zip(qids, rel, strict=True):
        bad = [v for v in r if v not in known]
        if bad:
            raise DataError(
                f"query {q!r}: relevant id {bad[0]!r} not in {cpath.name}", where=file_where(path)
            )
    return [
        {
            "id": path.stem,
            "query_ids": qids,
            "query_texts": qtexts,
            "relevant": rel,
            "cand_ids": cids,
            "cand_texts": ctexts,
        }
    ]


# --------------------------------------------------------------------------------------------
# scoring per kind
# --------------------------------------------------------------------------------------------


def tatoeba_scores(src: torch.Tensor, tgt: torch.Tensor) -> dict[str, float]:
    """``src`` = non-English side, ``tgt`` = English, row i aligned with row i."""
    m = compute("tatoeba", src_embeddings=src, tgt_embeddings=tgt)
    return {
        "accuracy": m["accuracy_tgt2src"],  # en -> xx, as XTREME's run_retrieval.py
        "accuracy_xx_en": m["accuracy_src2tgt"],
        "accuracy_en_xx": m["accuracy_tgt2src"],
    }


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


# --------------------------------------------------------------------------------------------
# the step
# --------------------------------------------------------------------------------------------


def _ref(p: dict[str, Any]) -> EncoderRef:
    return EncoderRef(**p["model"])


@STEP_KINDS.register("retrieve")
def run_retrieve(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Embed a checkpoint's (or the pretrained) encoder outputs and score retrieval tasks."""
    from xstilts.experiments.pipeline import build_model
    from xstilts.models.model import load_state
    from xstilts.tasks.families.retrieval import retrieval_kind

    p = step.params
    spec = get_task(p["task"], where="retrieval.tasks")
    get_family(spec.family)
    kind = retrieval_kind(spec)
    ref = _ref(p)
    model, tok = build_model(ref, p)
    if "checkpoint" in ctx.inputs:
        load_state(model, ctx.inputs["checkpoint"], encoder_only=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device, dtype=inference_dtype(p.get("precision", "fp32")))
    layer = p.get("layer")
    if layer is None:
        layer = default_layer(ref.name, int(model.encoder.config.num_hidden_layers))
    prefix = p.get("prefix")
    if prefix is None:
        prefix = default_prefix(ref.name)
    data_dir = Path(p["data_dir"]) if p.get("data_dir") else None

    def emb(texts: list[str]) -> torch.Tensor:
        return embed(
            model,
            tok,
            texts,
            layer=layer,
            batch_size=p.get("batch_size", 64),
            max_length=p.get("max_length", 128),
            prefix=prefix,
            device=device,
        )

    labels = {
        k: p["labels"][k]
        for k in ("run_id", "config_hash", "model", "intermediate", "target", "seed")
    }
    rows: list[ResultRow] = []
    per_lang: dict[str, tuple[str, dict[str, float]]] = {}  # lang -> (headline split, scores)
    bar = ctx.progress(step.label, len(p["languages"])) if ctx.progress else None
    cand_cache: dict[tuple, torch.Tensor] = {}

    def add(lang: str, split: str, scores: dict[str, float], extra: dict[str, Any]) -> None:
        for metric, value in scores.items():
            rows.append(
                ResultRow(
                    **labels,
                    task=spec.name,
                    language=lang,
                    split=split,
                    perturbation="none",
                    metric=metric,
                    value=float(value),
                    step=step.key,
                    extra={**extra, "layer": layer},
                )
            )

    for lang in p["languages"]:
        t0 = time.perf_counter()
        if kind == "tatoeba":
            split = p.get("split", "test")
            ex, _ = load_examples(spec, split, lang, data_dir, limit=p.get("max_examples"))
            scores = tatoeba_scores(emb([e["text_a"] for e in ex]), emb([e["text_b"] for e in ex]))
            add(lang, split, scores, {"n": len(ex), "seconds": round(time.perf_counter() - t0, 3)})
            per_lang[lang] = (split, scores)
        elif kind == "bucc2018":
            (dev,), _ = load_examples(spec, "dev", lang, data_dir)
            dev = subsample_corpus(dev, p.get("max_examples"), p.get("heldout_seed", 13))
            cands = _bucc_candidates(dev, emb, p)
            n = {"n_src": len(dev["src_ids"]), "n_tgt": len(dev["tgt_ids"])}
            tune, held = split_halves(dev["src_ids"], p.get("heldout_seed", 13))
            heldout = bucc_heldout(cands, dev["gold"], tune, held)
            oracle = compute("bucc2018", candidates=cands, gold=dev["gold"])
            secs = round(time.perf_counter() - t0, 3)
            add(lang, "dev-heldout", heldout, {**n, "seconds": secs})
            add(lang, "dev-oracle", oracle, {**n, "seconds": secs})
            per_lang[lang] = ("dev-heldout", heldout)
            test = _optional_test(spec, lang, data_dir)
            if test is not None:
                tc = _bucc_candidates(test, emb, p)
                scores = compute(
                    "bucc2018", candidates=tc, gold=test["gold"], threshold=oracle["threshold"]
                )
                add(lang, "test", scores, {"n_src": len(test["src_ids"])})
                per_lang[lang] = ("test", scores)
        else:
            split = p.get("split", "test")
            (ex,), _ = load_examples(spec, split, lang, data_dir)
            key = (tuple(ex["cand_ids"]), len(ex["cand_texts"]))
            if key not in cand_cache:
                cand_cache[key] = emb(ex["cand_texts"])
            k = int(p.get("k", 20))
            q = ex["query_texts"]
            if p.get("max_examples"):
                q = q[: p["max_examples"]]
            _, idx = topk_cosine(emb(q), cand_cache[key], max(k, 1))
            rankings = [[ex["cand_ids"][j] for j in r] for r in idx.tolist()]
            scores = compute("ranking", rankings=rankings, relevant=ex["relevant"][: len(q)], k=k)
            add(lang, split, scores, {"n": len(q), "seconds": round(time.perf_counter() - t0, 3)})
            per_lang[lang] = (split, scores)
        if bar:
            bar(1, None, None)
    if len(per_lang) > 1:
        split0, first = next(iter(per_lang.values()))
        for metric in first:
            vals = [s[metric] for _, s in per_lang.values() if metric in s]
            add("avg", split0, {metric: float(np.mean(vals))}, {"languages": list(per_lang)})
    return rows


def _bucc_candidates(ex: dict, emb, p: dict[str, Any]) -> dict[tuple[str, str], float]:
    x, y = emb(ex["src_texts"]), emb(ex["tgt_texts"])
    pairs = mine(x, y, k=int(p.get("k", 4)), mode="max", margin="ratio")
    return candidates_to_ids(pairs, ex["src_ids"], ex["tgt_ids"], ex["src_texts"], ex["tgt_texts"])


def _optional_test(spec: TaskSpec, lang: str, data_dir: Path | None) -> dict | None:
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


# --------------------------------------------------------------------------------------------
# planning: which retrieval steps a config asks for
# --------------------------------------------------------------------------------------------


def is_retrieval(task: str) -> bool:
    return get_task(task).family == "retrieval"


def retrieval_tasks(cfg: Any, targets: list[str]) -> list[str]:
    """``retrieval.tasks`` plus the retrieval-family targets (in that order, no repeats)."""
    from xstilts.tasks.registry import expand_tasks

    out = expand_tasks(list(cfg.retrieval.tasks), where="retrieval.tasks")
    for t in out:
        if not is_retrieval(t):
            raise ConfigError(
                f"{t} is a {get_task(t).family} task, not a retrieval task", where="retrieval.tasks"
            )
    out += [t for t in targets if is_retrieval(t) and t not in out]
    return out


def retrieval_languages(cfg: Any, spec: TaskSpec) -> list[str]:
    """Configured languages this task has; else the benchmark's list for it; else all."""
    asked = cfg.retrieval.languages
    if isinstance(asked, dict):
        asked = asked.get(spec.name)
    if asked is not None:
        return [lang for lang in asked if lang in spec.languages]
    bench = spec.defaults.get("benchmark_languages", {}).get(cfg.benchmark or "")
    return list(bench) if bench else list(spec.languages)


def _fp(spec: TaskSpec, split: str, lang: str, data_dir: Path | None) -> str:
    return data_fingerprint(spec, split, lang, data_dir)  # xstilts.identity: every file read


def add_retrieve_steps(
    plan: Any,
    cfg: Any,
    common: dict[str, Any],
    ref: EncoderRef,
    mref: dict[str, Any],
    tasks: list[str],
    checkpoint: str,
    *,
    seed: int,
    setup_label: str,
    target: str,
    dep: str | None,
) -> None:
    """One ``retrieve`` step per task for this checkpoint, if the config asks for it."""
    if checkpoint not in cfg.retrieval.checkpoints:
        return
    rc = cfg.retrieval
    ddir = Path(common["data_dir"]) if common.get("data_dir") else None
    if isinstance(rc.languages, dict):
        unknown = [t for t in rc.languages if t not in tasks]
        if unknown:
            raise ConfigError(
                f"{unknown[0]} is not one of the retrieval tasks ({', '.join(tasks)})",
                where="retrieval.languages",
            )
        pairs = [(t, lang) for t, langs in rc.languages.items() for lang in langs]
    else:
        pairs = [(t, lang) for lang in rc.languages or [] for t in tasks]
    known = {(t, lang) for t in tasks for lang in get_task(t).languages}
    if isinstance(rc.languages, dict):
        bad = [f"{lang} ({t})" for t, lang in pairs if (t, lang) not in known]
    else:
        have = {lang for _, lang in known}
        bad = sorted({lang for _, lang in pairs if lang not in have})
    if bad:
        raise ConfigError(
            f"unknown language(s) {', '.join(bad)} for the retrieval tasks",
            where="retrieval.languages",
        )
    for task in tasks:
        spec = get_task(task)
        langs = retrieval_languages(cfg, spec)
        if not langs:
            continue
        kind = spec.metrics[0] if spec.metrics else ""
        split = "dev" if kind == "bucc2018" else rc.split
        k = rc.k if rc.k is not None else (4 if kind == "bucc2018" else 20)
        params = {
            **common,
            "model": mref,
            "task": task,
            "task_version": spec.version,
            "languages": langs,
            "split": rc.split,
            "layer": rc.layer,
            "prefix": rc.prefix,
            "max_examples": rc.max_examples,
            "batch_size": rc.batch_size,
            "max_length": rc.max_length,
            "k": k,
            "heldout_seed": rc.heldout_seed,
            "checkpoint": checkpoint,
            **({"precision": rc.precision} if rc.precision != "fp32" else {}),
            "data": [_fp(spec, split, lang, ddir) for lang in langs],
            "labels": {
                "run_id": cfg.name,
                "config_hash": cfg.digest(),
                "model": ref.name,
                "intermediate": setup_label,
                "target": target,
                "seed": seed,
            },
        }
        where = {"pretrained": "pretrained encoder", "intermediate": f"after {setup_label}"}.get(
            checkpoint, f"after {target} (after {setup_label})"
        )
        plan.add(
            Step(
                "retrieve",
                params,
                deps={"checkpoint": dep} if dep else {},
                label=f"retrieve {task} on {where} seed {seed}",
            )
        )
