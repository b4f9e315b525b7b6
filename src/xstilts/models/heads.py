"""Task heads on a shared encoder, one registry entry per family's head.

Heads see the encoder's hidden states and the attention mask, so pooling is the head's business;
the encoder passes from one phase to the next, heads never do.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from xstilts.registry import Registry

# Heads of the multiple-choice, regression, tagging, span and masked-LM families: their modules are
# imported on the first lookup.
HEADS: Registry[type[nn.Module]] = Registry(
    "head",
    providers=("xstilts.models.heads", "xstilts.models.heads_mc", "xstilts.models.heads_tasks"),
)


class HeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num_labels: int = 2
    dropout: float = 0.1
    pooling: str = "first"  # first | last | mean


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Sentence vector from token states: first token, last real token (XLNet) or mean."""
    if how == "first":
        return hidden[:, 0]
    if how == "last":
        idx = mask.long().sum(1).clamp(min=1) - 1
        return hidden[torch.arange(hidden.size(0), device=hidden.device), idx]
    if how == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-6)
    raise ValueError(f"unknown pooling {how!r}")


@HEADS.register("classification", config=HeadConfig)
class ClassificationHead(nn.Module):
    """Pooled vector -> dropout -> dense+tanh -> dropout -> labels (the usual BERT/RoBERTa head)."""

    def __init__(self, hidden: int, cfg: HeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(hidden, cfg.num_labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        x = self.dropout(pool(hidden, mask, self.cfg.pooling))
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out(x)
