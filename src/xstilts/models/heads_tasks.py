"""Heads for token tagging and extractive (span) QA, registered in ``HEADS``.

* ``token_tagging``: dropout -> linear over every token state (``BertForTokenClassification``);
  ``[batch, length, num_labels]``. Its config carries the label list, so a task whose labels are
  discovered from the training data (``labels: null``, e.g. CCG supertags) stores the id -> tag
  mapping in the checkpoint's ``heads.json`` and evaluation reads it back from there.
* ``span_extraction``: one linear layer to (start, end) logits per token
  (``BertForQuestionAnswering``); ``[batch, length, 2]``.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, model_validator
from torch import nn

from xstilts.models.heads import HEADS


class TaggingHeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num_labels: int = 2
    dropout: float = 0.1
    labels: list[str] | None = None  # the id -> tag mapping (kept in the checkpoint)

    @model_validator(mode="after")
    def _check(self) -> TaggingHeadConfig:
        if self.labels is not None and len(self.labels) != self.num_labels:
            raise ValueError(f"{len(self.labels)} labels but num_labels is {self.num_labels}")
        return self


@HEADS.register("token_tagging", config=TaggingHeadConfig)
class TokenTaggingHead(nn.Module):
    """Every token state -> dropout -> linear -> tag logits."""

    def __init__(self, hidden: int, cfg: TaggingHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(hidden, cfg.num_labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))


class SpanHeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dropout: float = 0.0  # BertForQuestionAnswering uses none on top of the encoder


@HEADS.register("span_extraction", config=SpanHeadConfig)
class SpanExtractionHead(nn.Module):
    """Every token state -> linear -> (start, end) logits, ``[batch, length, 2]``."""

    def __init__(self, hidden: int, cfg: SpanHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(hidden, 2)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))
