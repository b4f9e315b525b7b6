"""Fine-tuned prediction (the ``evaluate`` step): a trained checkpoint predicts every language of
its target task, clean or on a seeded perturbed copy, and the task family scores it."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from xstilts.data.featurize import featurize
from xstilts.data.sources import load_examples
from xstilts.evaluation.predict import predict
from xstilts.evaluation.protocols.base import Protocol, ProtocolParams, protocol
from xstilts.evaluation.protocols.perturbed import perturb_examples
from xstilts.rows import ResultRow
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task

PERTURBATION_STATS = ("grapheme_edit_rate", "word_edit_rate", "n_changed")


class FinetunedParams(ProtocolParams):
    task: str
    perturbation: dict[str, Any] | None = None  # {name, params, seed, fields}
    perturbation_label: str = "none"
    head: str | None = None  # another task's head (evaluation.also_score); default: the task's


def perturbation_params(pert: dict[str, Any], label: str) -> dict[str, Any]:
    """A perturbation's configured parameters as row data (name, rate, seed, ...)."""
    return {
        "name": pert["name"],
        "label": label,
        "seed": pert.get("seed", 0),
        **({"fields": pert["fields"]} if pert.get("fields") else {}),
        **(pert.get("params") or {}),
    }


@protocol("finetuned", config=FinetunedParams)
class FinetunedPrediction(Protocol):
    """Zero-shot evaluation of a trained checkpoint on every requested language."""

    step_kind = "evaluate"
    p: FinetunedParams

    def run(self) -> list[ResultRow]:
        p = self.p
        spec = get_task(p.task, where="target")
        fam = get_family(spec.family)
        model, tok = self.load("checkpoint", encoder_only=False)
        head = p.head or spec.name
        head_labels = model.head_specs.get(head, {}).get("params", {}).get("labels")
        if head_labels is not None and head_labels != spec.labels:
            spec = spec.model_copy(update={"labels": list(head_labels)})
        pert = p.perturbation
        kind = "perturbation" if pert else "clean"
        rows: list[ResultRow] = []
        for lang, split in self.splits(spec):
            ex, fp = load_examples(spec, split, lang, self.data_dir, limit=p.max_examples)
            extra, params = "", {}
            if pert:
                ex, stats = perturb_examples(
                    ex, spec, pert, lang, source_fp=fp, data_dir=self.data_dir
                )
                extra = json.dumps(pert, sort_keys=True)
                # configured and measured (this language's actual edit rates) side by side
                params = perturbation_params(pert, p.perturbation_label) | {
                    k: stats[k] for k in PERTURBATION_STATS
                }
            feats = featurize(
                spec,
                ex,
                tok,
                p.max_length,
                split,
                lang,
                fp,
                cache=p.cache_features,
                extra=extra,
            )
            digest = input_digest(ex)  # what the model saw: equal across models on equal inputs
            t0 = time.perf_counter()
            preds = predict(
                model, fam, head, feats, batch_size=p.batch_size, pad_id=tok.pad_token_id or 0
            )
            secs = time.perf_counter() - t0
            for metric, value in fam.score(preds, ex, feats, spec, lang).items():
                rows.append(
                    self.row(
                        task=spec.name,
                        language=lang,
                        split=split,
                        metric=metric,
                        value=value,
                        kind=kind,
                        perturbation=p.perturbation_label,
                        params=params,
                        extra={"n": len(ex), "seconds": round(secs, 3), "input_digest": digest},
                    )
                )
            if p.save_predictions:
                shown = (
                    fam.per_example(preds, ex, feats, spec)
                    if hasattr(fam, "per_example")
                    else preds
                )
                self.save_predictions(lang, ex, shown, spec)
        return rows


def input_digest(examples: list[dict]) -> str:
    """sha256 of the examples as evaluated (ids, texts, labels), order included."""
    blob = json.dumps(examples, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
