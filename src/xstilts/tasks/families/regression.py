"""Regression on sentence pairs (STS-B, multilingual STS): one real output, MSE loss.

Labels are floats (STS's 0..5 similarity); the metric is ``pearson_spearman`` (Pearson r, Spearman
rho and their mean ``score``, as GLUE reports STS-B).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

import xstilts.evaluation.metrics_regression  # noqa: F401  (registers pearson_spearman)
from xstilts.errors import DataError
from xstilts.evaluation.metrics import compute
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec


class Regression:
    name = "regression"
    head = "regression"

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        labels = []
        for ex in examples:
            v = ex.get("label")
            try:
                f = float(v)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                f = math.nan
            if isinstance(v, bool) or not math.isfinite(f):
                raise DataError(
                    f"regression label must be a finite number, got {v!r}",
                    where=ex.get("where") or ex.get("id"),
                )
            labels.append(f)
        a = [ex["text_a"] for ex in examples]
        pair = "text_b" in spec.text_fields
        b = [ex.get("text_b") or "" for ex in examples] if pair else None
        enc = tokenizer(a, b, truncation=True, max_length=max_length)
        feats: Features = {"input_ids": enc["input_ids"], "example": list(range(len(examples)))}
        if "token_type_ids" in enc and pair:
            feats["token_type_ids"] = enc["token_type_ids"]
        feats["labels"] = labels
        return feats

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        batch = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in rows[0]:
            batch["token_type_ids"], _ = pad_ids([r["token_type_ids"] for r in rows], 0)
        batch["labels"] = torch.as_tensor([r["labels"] for r in rows], dtype=torch.float32)
        return batch

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.mse_loss(logits.float().view(-1), batch["labels"].float())

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return [float(v) for v in logits.float().view(-1).tolist()]

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for m in spec.metrics:
            out.update(compute(m, predictions=predictions, references=features["labels"]))
        return out


FAMILIES.register("regression")(Regression())
