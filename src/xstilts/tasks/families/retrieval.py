"""Retrieval tasks (Tatoeba, BUCC, LAReQA, Mewsli-X): evaluated on embeddings, never trained.

The family exists so a retrieval task is a normal registry entry (``xstilts tasks`` lists it);
the work is done by the task's protocol (``protocol: retrieval`` in its YAML,
``evaluation/protocols/retrieval.py``), whose kind (``protocol_params: {kind: ...}``: ``tatoeba``,
``bucc2018``, ``ranking`` or a new one) says how one language is searched and scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from xstilts.errors import ConfigError
from xstilts.tasks.family import FAMILIES, Features
from xstilts.tasks.spec import TaskSpec


class Retrieval:
    name = "retrieval"
    head = "none"

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise ConfigError(
            "retrieval tasks are not trained: list them under `targets`/`retrieval.tasks` (a "
            "`retrieve` step embeds with the encoder), not as intermediate tasks",
            where="tasks",
        )

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


FAMILIES.register("retrieval")(Retrieval())
