"""Sequence classification: single sentence (sentiment) and sentence pair (NLI, paraphrase)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from xstilts.errors import DataError
from xstilts.perturb.goals import AttackGoal, LabelFlip
from xstilts.tasks.family import FAMILIES, Features, pad_ids, score_metrics
from xstilts.tasks.spec import TaskSpec


class Classification:
    name = "classification"
    head = "classification"
    label_dtype = torch.long

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {"num_labels": len(spec.labels or [])}

    def attack_goal(self, params: dict[str, Any], spec: TaskSpec | None) -> AttackGoal:
        """Attacks flip the predicted label away from the gold one."""
        return ClassificationGoal(params, spec)

    def label_ids(self, examples: Sequence[dict], spec: TaskSpec) -> list[int]:
        index = {lab: i for i, lab in enumerate(spec.labels or [])}
        out = []
        for ex in examples:
            lab = str(ex.get("label"))
            if lab not in index:
                raise DataError(
                    f"unknown label {lab!r} for task {spec.name} (labels: {', '.join(index)})",
                    where=ex.get("where") or ex.get("id"),
                )
            out.append(index[lab])
        return out

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        labels = self.label_ids(examples, spec)
        feats = self.encode_texts(examples, tokenizer, spec, max_length)
        feats["labels"] = labels
        return feats

    def encode_texts(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        """Token ids of ``text_a`` (and ``text_b`` for pair tasks), one feature per example."""
        a = [ex["text_a"] for ex in examples]
        pair = "text_b" in spec.text_fields
        b = [ex.get("text_b") or "" for ex in examples] if pair else None
        enc = tokenizer(a, b, truncation=True, max_length=max_length)
        feats: Features = {"input_ids": enc["input_ids"], "example": list(range(len(examples)))}
        if "token_type_ids" in enc and pair:
            feats["token_type_ids"] = enc["token_type_ids"]
        return feats

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        batch = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in rows[0]:
            batch["token_type_ids"], _ = pad_ids([r["token_type_ids"] for r in rows], 0)
        batch["labels"] = torch.as_tensor([r["labels"] for r in rows], dtype=self.label_dtype)
        return batch

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch["labels"])

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return logits.argmax(-1).tolist()

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]:
        return score_metrics(spec, predictions, features["labels"])


class ClassificationGoal(LabelFlip):
    """Label flip on one text or a text pair (encoded as one sequence: gradient importance)."""

    fields = ("text_a", "text_b")

    def grad_fields(self, example: dict) -> list[str] | None:
        return [f for f in self.fields if isinstance(example.get(f), str)]


FAMILIES.register("classification")(Classification())
