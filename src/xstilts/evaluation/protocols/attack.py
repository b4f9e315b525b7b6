"""Adaptive attacks (the ``attack`` step) against a trained checkpoint, per language.

The checkpoint is placed by the device policy in the step's precision (``evaluation.precision``,
which is also in the step's key), so the victim's every forward pass runs where and how it says.
The search itself is ``perturb.attack.run_attack``; the budget and constraints are the same for
every model and travel with the rows as data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from xstilts.atomic import write_json
from xstilts.data.sources import load_examples
from xstilts.evaluation.predict import predict
from xstilts.evaluation.protocols.base import Protocol, ProtocolParams, protocol
from xstilts.rows import ResultRow
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec

SUMMARY_METRICS = (
    "accuracy_under_attack",
    "attack_success_rate",
    "avg_queries",
    "perturbation_rate",
    "clean_accuracy",
)


class AttackParams(ProtocolParams):
    task: str
    attack: dict[str, Any]  # {name (the search), params, max_examples}
    perturbation_label: str


class ModelVictim:
    """The model under test as an attack victim: one batched forward pass per call, on the
    device and in the dtype the model was placed in."""

    def __init__(self, model, tokenizer, spec: TaskSpec, max_length: int, batch_size: int) -> None:
        self.model, self.tok, self.spec = model, tokenizer, spec
        self.fam = get_family(spec.family)
        self.max_length, self.batch_size = max_length, batch_size
        self.forward_examples = 0

    def predict_proba(self, examples: list[dict]) -> np.ndarray:
        labels = self.spec.labels or []
        named = [
            {**ex, "label": labels[ex["label"]] if isinstance(ex["label"], int) else ex["label"]}
            for ex in examples
        ]
        feats = self.fam.featurize(named, self.tok, self.spec, self.max_length)
        _, logits = predict(
            self.model,
            self.fam,
            self.spec.name,
            feats,
            batch_size=self.batch_size,
            pad_id=self.tok.pad_token_id or 0,
            return_logits=True,
        )
        self.forward_examples += len(examples)
        return torch.softmax(torch.stack(logits), -1).numpy()


@protocol("attack", config=AttackParams)
class Attack(Protocol):
    """Adaptive attack on a trained checkpoint, per language; rows carry the attack as data."""

    row_kind = "attack"
    p: AttackParams

    def run(self) -> list[ResultRow]:
        from xstilts.perturb.attack import AttackConfig, run_attack

        p = self.p
        spec = get_task(p.task, where="target")
        model, tok = self.load("checkpoint", encoder_only=False)
        cfg = AttackConfig.model_validate({"search": p.attack["name"], **p.attack["params"]})
        attack_params = {"name": p.attack["name"], "label": p.perturbation_label} | cfg.model_dump(
            mode="json"
        )
        index = {lab: i for i, lab in enumerate(spec.labels or [])}
        rows: list[ResultRow] = []
        for lang, split in self.splits(spec):
            ex, _ = load_examples(
                spec, split, lang, self.data_dir, limit=p.attack.get("max_examples")
            )
            ex = [{**e, "label": index[str(e["label"])]} for e in ex]
            victim = ModelVictim(model, tok, spec, p.max_length, p.batch_size)
            run = run_attack(victim, ex, spec.family, lang, cfg)
            run.save(self.output(f"attacks/{lang}.json", where=f"languages[{lang}]"))
            summ = {k: v for k, v in run.summary.items() if k in SUMMARY_METRICS}
            # undefined is not zero: no successful attack has no perturbation rate; leave it out
            summ = {k: v for k, v in summ.items() if v is not None and not math.isnan(float(v))}
            for metric, value in summ.items():
                rows.append(
                    self.row(
                        task=spec.name,
                        language=lang,
                        split=split,
                        metric=metric,
                        value=float(value),
                        perturbation=p.perturbation_label,
                        params=attack_params,
                        extra={
                            "n": len(ex),
                            "attack": cfg.model_dump(mode="json"),
                            "forward_examples": victim.forward_examples,
                        },
                    )
                )
        write_json(self.ctx.work_dir / "attack_config.json", cfg.model_dump(mode="json"))
        return rows
