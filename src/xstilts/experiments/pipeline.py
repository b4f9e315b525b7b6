"""The three phases as step runners: train (intermediate or target) and evaluate (zero-shot).

Runners take everything from the step's params (never from a global config): which model, which
tasks, which hyperparameters, which checkpoint to start from. Only the encoder passes from one
phase to the next; every phase starts fresh heads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.data.cache import cached_features, feature_key, tokenizer_fingerprint
from xstilts.data.sources import load_examples
from xstilts.errors import ConfigError
from xstilts.evaluation.predict import predict
from xstilts.experiments.atomic import safe_join
from xstilts.experiments.results import ResultRow
from xstilts.experiments.steps import STEP_KINDS, Step, StepContext
from xstilts.models.encoder import EncoderRef, load_encoder, load_tokenizer
from xstilts.models.model import (
    MultiTaskModel,
    inference_dtype,
    load_state,
    save_checkpoint,
)
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec
from xstilts.training.config import PhaseConfig
from xstilts.training.trainer import TrainSet, train


def _ref(p: dict[str, Any]) -> EncoderRef:
    return EncoderRef(**p["model"])


def _data_dir(p: dict[str, Any]) -> Path | None:
    return Path(p["data_dir"]) if p.get("data_dir") else None


def featurize(
    spec: TaskSpec,
    examples: list[dict],
    tokenizer,
    max_length: int,
    split: str,
    lang: str,
    source_fp: str,
    *,
    cache: bool,
    extra: str = "",
):
    fam = get_family(spec.family, where=f"task {spec.name}")
    if spec.labels != get_task(spec.name).labels:  # discovered from data / read from a checkpoint
        extra += "|labels=" + json.dumps(spec.labels)
    key = feature_key(
        tokenizer_fingerprint(tokenizer),
        spec.name,
        spec.version,
        split,
        lang,
        max_length,
        source_fp,
        extra,
    )
    return cached_features(
        key, lambda: fam.featurize(examples, tokenizer, spec, max_length), enabled=cache
    )


def build_model(ref: EncoderRef, p: dict[str, Any]) -> tuple[MultiTaskModel, Any]:
    tok = load_tokenizer(ref, trust_remote_code=p.get("trust_remote_code", False))
    enc = load_encoder(
        ref,
        trust_remote_code=p.get("trust_remote_code", False),
        allow_pickle=p.get("allow_pickle", False),
    )
    return MultiTaskModel(enc), tok


def add_task_head(
    model: MultiTaskModel, spec: TaskSpec, pooling: str, dropout: float | None = None
) -> None:
    fam = get_family(spec.family)
    params = {**fam.head_params(spec)}
    if "pooling" in _head_fields(fam.head):
        params["pooling"] = pooling
    if dropout is not None and "dropout" in _head_fields(fam.head):
        params["dropout"] = dropout
    model.add_head(spec.name, fam.head, params)


def _head_fields(kind: str) -> set[str]:
    from xstilts.models.heads import HEADS

    return set(HEADS.get(kind).config.model_fields)


@STEP_KINDS.register("train")
def run_train(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Train on one or more English tasks from the pretrained encoder or a previous phase."""
    import torch

    from xstilts.training import distributed

    p = step.params
    cfg = PhaseConfig.model_validate(p["phase"])
    if cfg.processes > 1 and not distributed.in_worker():
        distributed.launch(step, ctx.work_dir, ctx.inputs, cfg.processes)
        return []
    torch.manual_seed(p["seed"])
    ref = _ref(p)
    model, tok = build_model(ref, p)
    if "init" in ctx.inputs:
        load_state(model, ctx.inputs["init"], encoder_only=True)
    sets: dict[str, TrainSet] = {}
    for name in p["tasks"]:
        spec = get_task(name, where="tasks")
        fam = get_family(spec.family)
        lang = spec.train_language
        ex, fp = load_examples(spec, cfg.train_split, lang, _data_dir(p), limit=cfg.max_examples)
        if hasattr(fam, "prepare_spec"):  # e.g. tagging: labels discovered from the train data
            spec = fam.prepare_spec(spec, ex)
        feats = featurize(
            spec,
            ex,
            tok,
            cfg.max_length,
            cfg.train_split,
            lang,
            fp,
            cache=p.get("cache_features", True),
        )
        dev_ex = dev_feats = None
        if cfg.select_best and cfg.dev_split and spec.has_split(cfg.dev_split, lang):
            dev_ex, dfp = load_examples(
                spec, cfg.dev_split, lang, _data_dir(p), limit=cfg.dev_max_examples
            )
            dev_feats = featurize(
                spec,
                dev_ex,
                tok,
                cfg.max_length,
                cfg.dev_split,
                lang,
                dfp,
                cache=p.get("cache_features", True),
            )
        add_task_head(model, spec, ref.pooling, cfg.head_dropout)
        sets[name] = TrainSet(name, fam, spec, feats, dev_ex, dev_feats)
    bar = ctx.progress(step.label, 0) if ctx.progress else None
    res = train(
        model,
        sets,
        cfg,
        seed=p["seed"],
        pad_id=tok.pad_token_id or 0,
        work_dir=ctx.work_dir,
        step_name=step.label or step.key,
        progress=(lambda i, n, loss: bar(i, n, loss)) if bar else None,
    )
    if not distributed.is_main_worker():
        return []  # the main worker writes the checkpoint
    save_checkpoint(
        model,
        ctx.work_dir,
        {
            "tasks": p["tasks"],
            "seed": p["seed"],
            "steps": res.steps,
            "history": res.history,
            "best": res.best,
            "examples_seen": res.examples_seen,
            "rows_computed": res.rows_computed,
            "seconds": res.seconds,
            "model": ref.name,
            "processes": cfg.processes,
        },
    )
    tok.save_pretrained(str(ctx.work_dir))
    return []


def _labels(p: dict[str, Any]) -> dict[str, Any]:
    return {
        k: p["labels"][k]
        for k in ("run_id", "config_hash", "model", "intermediate", "target", "seed")
    }


@STEP_KINDS.register("evaluate")
def run_evaluate(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Zero-shot evaluation of a trained checkpoint on every requested language."""
    p = step.params
    spec = get_task(p["task"], where="target")
    fam = get_family(spec.family)
    ref = _ref(p)
    ckpt = ctx.inputs["checkpoint"]
    model, tok = build_model(ref, p)
    load_state(model, ckpt, encoder_only=False)
    model.to(dtype=inference_dtype(p.get("precision", "fp32")))
    model.eval()
    head = p.get("head", spec.name)  # another task's head: evaluation.also_score
    head_labels = model.head_specs.get(head, {}).get("params", {}).get("labels")
    if head_labels is not None and head_labels != spec.labels:
        spec = spec.model_copy(update={"labels": list(head_labels)})
    pert = p.get("perturbation")
    rows: list[ResultRow] = []
    per_lang: dict[str, dict[str, float]] = {}
    pert_stats: dict[str, dict[str, float]] = {}
    bar = ctx.progress(step.label, len(p["languages"])) if ctx.progress else None
    for lang in p["languages"]:
        split = p["split"] if spec.has_split(p["split"], lang) else "dev"
        ex, fp = load_examples(spec, split, lang, _data_dir(p), limit=p.get("max_examples"))
        extra = ""
        if pert:
            from xstilts.experiments.perturbed import perturb_examples

            ex, stats = perturb_examples(ex, spec, pert, lang, source_fp=fp, data_dir=_data_dir(p))
            extra = json.dumps(pert, sort_keys=True)
            pert_stats[lang] = {
                k: stats[k] for k in ("grapheme_edit_rate", "word_edit_rate", "n_changed")
            }
        feats = featurize(
            spec,
            ex,
            tok,
            p["max_length"],
            split,
            lang,
            fp,
            cache=p.get("cache_features", True),
            extra=extra,
        )
        digest = input_digest(ex)  # what the model saw: equal across models on equal inputs
        t0 = time.perf_counter()
        preds = predict(
            model, fam, head, feats, batch_size=p["batch_size"], pad_id=tok.pad_token_id or 0
        )
        secs = time.perf_counter() - t0
        scores = fam.score(preds, ex, feats, spec, lang)
        per_lang[lang] = scores
        for metric, value in scores.items():
            rows.append(
                ResultRow(
                    **_labels(p),
                    task=spec.name,
                    language=lang,
                    split=split,
                    perturbation=p.get("perturbation_label", "none"),
                    metric=metric,
                    value=value,
                    step=step.key,
                    extra={"n": len(ex), "seconds": round(secs, 3), "input_digest": digest},
                )
            )
        if p.get("save_predictions", True):
            shown = (
                fam.per_example(preds, ex, feats, spec) if hasattr(fam, "per_example") else preds
            )
            # a language name (from a task file) becomes a file name: it must stay inside
            dest = safe_join(ctx.work_dir, f"predictions/{lang}.jsonl", where=f"languages[{lang}]")
            _save_predictions(dest, ex, shown, spec)
        if bar:
            bar(1, None, None)
    others = [lang for lang in per_lang if lang != spec.train_language and lang in spec.languages]
    for metric in next(iter(per_lang.values())) if per_lang else {}:
        if others:
            value = float(np.mean([per_lang[lang][metric] for lang in others]))
            rows.append(
                ResultRow(
                    **_labels(p),
                    task=spec.name,
                    language="avg",
                    split=p["split"],
                    perturbation=p.get("perturbation_label", "none"),
                    metric=metric,
                    value=value,
                    step=step.key,
                    extra={"languages": others},
                )
            )
    return rows


def input_digest(examples: list[dict]) -> str:
    """sha256 of the examples as evaluated (ids, texts, labels), order included."""
    import hashlib

    blob = json.dumps(examples, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _save_predictions(path: Path, examples: list[dict], preds: list[Any], spec: TaskSpec) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = spec.labels
    with open(path, "w", encoding="utf-8") as fh:
        for ex, pr in zip(examples, preds, strict=True):
            shown = labels[pr] if labels and isinstance(pr, int) else pr
            fh.write(
                json.dumps(
                    {"id": ex.get("id"), "prediction": shown, "gold": _gold(ex)},
                    ensure_ascii=False,
                )
                + "\n"
            )


def _gold(ex: dict) -> Any:
    for k in ("label", "tags", "answers"):
        if k in ex:
            return ex[k]
    return None


def known_languages(spec: TaskSpec) -> set[str]:
    """The task's languages plus, for MLQA-style tasks, its context-question language pairs."""
    from xstilts.data.sources import language_pairs, supports_pairs

    return set(spec.languages) | (set(language_pairs(spec)) if supports_pairs(spec) else set())


def check_languages(spec: TaskSpec, langs: list[str] | None, where: str) -> list[str]:
    if langs is None:
        return list(spec.languages)
    known = known_languages(spec)
    bad = [lang for lang in langs if lang not in known]
    if bad:
        raise ConfigError(
            f"unknown language(s) {', '.join(bad)} for task {spec.name} "
            f"(it has {', '.join(spec.languages)})",
            where=where,
        )
    return list(langs)


# The `retrieve` step kind (no training) registers on import.
import xstilts.experiments.retrieval  # noqa: E402, F401
