"""Task families: the few functions that differ between classification, tagging, QA, ...

A family turns examples into features, names its head, computes the loss, decodes outputs into
predictions and scores them. Everything else (training loop, evaluation loop, planning) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from xstilts.registry import Registry
from xstilts.scoring import compute
from xstilts.tasks.spec import TaskSpec

Features = dict[str, list[Any]]  # column -> one value per feature row


class Family(Protocol):
    name: str
    head: str

    def head_params(self, spec: TaskSpec) -> dict[str, Any]: ...

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features: ...

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]: ...

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]: ...

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]: ...


# Every module of ``tasks/families/`` (a new family is one new file there) and the masked-LM task,
# imported on the first lookup.
FAMILIES: Registry[Family] = Registry(
    "task family", providers=("xstilts.tasks.families.*", "xstilts.training.mlm")
)


def pad_ids(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence in the batch (dynamic padding) and build the mask."""
    n, width = len(seqs), max(len(s) for s in seqs)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def score_metrics(
    spec: TaskSpec, predictions: list[Any], references: list[Any]
) -> dict[str, float]:
    """Every metric the task declares, merged (families whose references are feature labels)."""
    out: dict[str, float] = {}
    for m in spec.metrics:
        out.update(compute(m, predictions=predictions, references=references))
    return out


def get_family(name: str, *, where: str | None = None) -> Family:
    return FAMILIES.get(name, where=where).obj
