"""Retrieval tasks (Tatoeba, BUCC, LAReQA, Mewsli-X): evaluated on embeddings, never trained.

The family exists so a retrieval task is a normal registry entry (``xstilts tasks`` lists it,
plans recognise it); the work is done by the ``retrieve`` step (``experiments/retrieval.py``).
Which search a task needs follows from its first metric: ``tatoeba`` (aligned pairs, top-1 both
ways), ``bucc2018`` (margin mining + threshold) or ``ranking`` (mAP@k over a candidate pool).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from xstilts.errors import ConfigError
from xstilts.perturb.goals import AttackGoal
from xstilts.tasks.family import FAMILIES, Features
from xstilts.tasks.spec import TaskSpec

KINDS = ("tatoeba", "bucc2018", "ranking")


def retrieval_kind(spec: TaskSpec) -> str:
    """``tatoeba`` | ``bucc2018`` | ``ranking``, from the task's first metric."""
    kind = spec.metrics[0] if spec.metrics else ""
    if kind not in KINDS:
        raise ConfigError(
            f"retrieval task {spec.name} must list one of {', '.join(KINDS)} first in metrics",
            where=spec.source_file,
        )
    return kind


class Retrieval:
    name = "retrieval"
    head = "none"

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise ConfigError(
            "retrieval tasks are not trained: list them under `targets`/`retrieval.tasks` (a "
            "`retrieve` step embeds with the encoder), not as intermediate tasks",
            where="tasks",
        )

    def attack_goal(self, params: dict[str, Any], spec: TaskSpec | None) -> AttackGoal:
        """Attacks perturb the query until its gold partner leaves the top ``k``."""
        return RetrievalGoal(params, spec)

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return self._refuse()

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        return self._refuse()

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        return self._refuse()

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._refuse()

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return self._refuse()

    def score(self, predictions, examples, features, spec, lang) -> dict[str, float]:
        return self._refuse()


class RetrievalGoalParams(BaseModel):
    """``k``: the attack wins when the gold partner is no longer among the top ``k`` candidates."""

    model_config = ConfigDict(extra="forbid")
    k: int = Field(1, ge=1)


class RetrievalGoal(AttackGoal):
    """Examples ``{"id", "text_a": query, "gold": index of its partner}``; the victim returns each
    query's similarity to every candidate (``perturb.victims.RetrievalVictim``). Only the query
    side is perturbed, the candidate pool stays fixed."""

    name = "retrieval_top_k"
    params_model = RetrievalGoalParams
    fields = ("text_a",)
    metric = "hit_at_k"

    def _rank(self, example: dict, sims: np.ndarray) -> int:
        g = int(example["gold"])
        return int((np.delete(sims, g) > sims[g]).sum())

    def objective(self, example, out, clean):
        """Margin of the gold partner over the k-th best other candidate."""
        g = int(example["gold"])
        others = np.sort(np.delete(out, g))[::-1]
        return float(out[g] - others[min(self.params.k, len(others)) - 1]) if len(others) else 1.0

    def value(self, example, out, clean):
        return float(self._rank(example, out) < self.params.k)

    def success(self, example, out, clean):
        return self._rank(example, out) >= self.params.k


FAMILIES.register("retrieval")(Retrieval())
