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
from xstilts.tasks.families.classification import Classification
from xstilts.tasks.family import FAMILIES
from xstilts.tasks.spec import TaskSpec


class Regression(Classification):
    """Classification's text encoding and batching with one real-valued output and MSE."""

    name = "regression"
    head = "regression"
    label_dtype = torch.float32

    attack_goal = None  # a score has no label to flip: regression tasks are not attacked

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    def label_ids(self, examples: Sequence[dict], spec: TaskSpec) -> list[float]:
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
        return labels

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.mse_loss(logits.float().view(-1), batch["labels"].float())

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return [float(v) for v in logits.float().view(-1).tolist()]


FAMILIES.register("regression")(Regression())
