"""Heads for multiple choice, regression and masked-LM, registered in ``HEADS``.

* ``multiple_choice``: one scalar per (context, choice) sequence from the pooled vector; the
  collate function flattens ``[batch, choices, length]`` into ``[batch * choices, length]`` so the
  shared encoder stays untouched, and ``choice_mask`` (``[batch, choices]``) folds the scores back
  and hides padding choices (examples with fewer choices than the widest in the batch).
* ``regression``: one unbounded output (STS-B scores), the usual dense+tanh head.
* ``mlm``: BERT's transform (dense, GELU, LayerNorm) and a decoder *tied* to the encoder's word
  embeddings (so an encoder without a pretrained MLM head, like the offline e5, gets a fresh head
  with only ``hidden**2`` new weights). It scores only the masked positions: full-vocabulary logits
  for every token would be ``batch x length x 250k`` floats for XLM-R-vocab models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

from xstilts.models.heads import HEADS, HeadConfig, pool


class ChoiceHeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dropout: float = 0.1
    pooling: str = "first"


@HEADS.register("multiple_choice", config=ChoiceHeadConfig)
class MultipleChoiceHead(nn.Module):
    """Pooled vector of each (context, choice) pair -> dropout -> linear -> one score per choice."""

    def __init__(self, hidden: int, cfg: ChoiceHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(hidden, 1)

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        choice_mask: torch.Tensor | None = None,
        **_: torch.Tensor,
    ) -> torch.Tensor:
        scores = self.out(self.dropout(pool(hidden, mask, self.cfg.pooling))).squeeze(-1)
        if choice_mask is None:  # one choice per row: nothing to fold
            return scores[:, None]
        scores = scores.view(choice_mask.shape).float()
        return scores.masked_fill(choice_mask == 0, torch.finfo(scores.dtype).min)


class RegressionHeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dropout: float = 0.1
    pooling: str = "first"


@HEADS.register("regression", config=RegressionHeadConfig)
class RegressionHead(nn.Module):
    """Pooled vector -> dropout -> dense+tanh -> dropout -> one real number (STS-B's head)."""

    def __init__(self, hidden: int, cfg: RegressionHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(hidden, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        x = self.dropout(pool(hidden, mask, self.cfg.pooling))
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out(x).squeeze(-1)


class MLMHeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer_norm_eps: float = 1e-12
    vocab_size: int = 0  # 0: the encoder's input-embedding rows (set when tied)


@HEADS.register("mlm", config=MLMHeadConfig)
class MLMHead(nn.Module):
    """BERT-style LM head whose decoder weight *is* the encoder's word-embedding matrix.

    The tie is a plain reference (``tie_to``), not a registered submodule, so the embedding matrix
    is saved once (under ``encoder.``) and never duplicated in checkpoints; training the head
    updates the shared embeddings, exactly as a tied ``BertForMaskedLM`` does.
    """

    def __init__(self, hidden: int, cfg: MLMHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=cfg.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size or 1))
        self._tied: list[nn.Embedding] = []  # a list keeps it out of the module tree

    def tie_to(self, encoder: nn.Module) -> None:
        """Share the decoder with ``encoder.get_input_embeddings()`` (called by ``add_head``)."""
        emb = encoder.get_input_embeddings()
        self._tied = [emb]
        rows = emb.weight.shape[0]
        if self.bias.shape[0] != rows:
            self.bias = nn.Parameter(torch.zeros(rows, device=emb.weight.device))
            self.cfg.vocab_size = rows

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        mlm_labels: torch.Tensor | None = None,
        **_: torch.Tensor,
    ) -> torch.Tensor:
        """Logits ``[n_masked, vocab]`` at positions with ``mlm_labels != -100`` (row-major)."""
        if not self._tied:
            raise RuntimeError("MLM head used before tie_to(encoder)")
        if mlm_labels is not None:
            hidden = hidden[mlm_labels != -100]
        x = self.norm(F.gelu(self.dense(hidden)))
        weight = self._tied[0].weight
        return F.linear(x, weight.to(x.dtype), self.bias.to(x.dtype))


__all__ = ["HeadConfig", "MLMHead", "MultipleChoiceHead", "RegressionHead"]
