"""Sequence classification: single sentence (sentiment) and sentence pair (NLI, paraphrase)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from xstilts.errors import DataError
from xstilts.evaluation.metrics import compute
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec


class Classification:
    name = "classification"
    head = "classification"

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {"num_labels": len(spec.labels or [])}

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
        a = [ex["text_a"] for ex in examples]
        pair = "text_b" in spec.text_fields
        b = [ex.get("text_b") or "" for ex in examples] if pair else None
        enc = tokenizer(a, b, truncation=True, max_length=max_length)
        feats: Features = {"input_ids": enc["input_ids"], "example": list(range(len(examples)))}
        if "token_type_ids" in enc and pair:
            feats["token_type_ids"] = enc["token_type_ids"]
        feats["labels"] = self.label_ids(examples, spec)
        return feats

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        batch = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in rows[0]:
            batch["token_type_ids"], _ = pad_ids([r["token_type_ids"] for r in rows], 0)
        batch["labels"] = torch.as_tensor([r["labels"] for r in rows], dtype=torch.long)
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
        refs = features["labels"]
        out: dict[str, float] = {}
        for m in spec.metrics:
            out.update(compute(m, predictions=predictions, references=refs))
        return out


FAMILIES.register("classification")(Classification())
