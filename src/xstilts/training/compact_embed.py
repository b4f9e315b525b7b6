"""Train only the word-embedding rows the training data uses, with exactly AdamW's result.

A multilingual vocabulary is huge (250k x 384 = 96M of multilingual-e5-small's 118M parameters)
and a training set touches a few thousand rows. With a plain ``nn.Embedding`` every step still
builds a dense 96M gradient, clips over it and runs AdamW over it (reading and writing ~2 GB),
which is a third of a CPU step. Rows that no training row contains get a zero gradient at every
step, so AdamW's moments for them stay exactly zero and its whole update is the decoupled weight
decay ``p *= 1 - lr_t * wd``. :class:`CompactEmbedding` therefore trains a compact table of the
used rows (plus the pad row) and keeps the product of those decay factors for the rest, applied
when the full table is needed again (dev evaluation, checkpoints, the end of training): the same
weights as training the full table, up to float rounding of the decay product.

Used only where it is provably the same: one process, trainable untied word embeddings, families
whose batches hold only the rows' own token ids and the pad id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# Families whose ``collate`` builds ``input_ids`` from the rows' ids and the pad id only.
SAFE_FAMILIES = {"classification", "multiple_choice", "regression", "tagging", "qa"}


def _flat_ids(value: Any, out: set[int]) -> None:
    if isinstance(value, int):
        out.add(value)
    elif value is not None and len(value) and not isinstance(value[0], int):
        for v in value:
            _flat_ids(v, out)
    else:
        out.update(value)


class CompactEmbedding(nn.Module):
    """Stands in for the word embeddings while training; ``weight`` holds the used rows."""

    def __init__(self, full: nn.Embedding, ids: torch.Tensor) -> None:
        super().__init__()
        self._full = [full]  # kept out of the module tree: not a parameter of the model
        self.ids = ids
        remap = torch.full((full.num_embeddings,), -1, dtype=torch.long, device=ids.device)
        remap[ids] = torch.arange(len(ids), device=ids.device)
        self.register_buffer("remap", remap, persistent=False)
        self.weight = nn.Parameter(full.weight.detach()[ids].clone())
        pad = full.padding_idx
        self.padding_idx = int(remap[pad]) if pad is not None and remap[pad] >= 0 else None
        self.decay = 1.0  # product of (1 - lr_t * wd) not yet applied to the unused rows
        self.num_embeddings, self.embedding_dim = full.num_embeddings, full.embedding_dim

    @property
    def full(self) -> nn.Embedding:
        return self._full[0]

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        idx = self.remap[input_ids]
        if bool((idx < 0).any()):
            raise RuntimeError("CompactEmbedding: a token id outside the training rows")
        return F.embedding(idx, self.weight, self.padding_idx)

    def after_step(self, opt: torch.optim.Optimizer) -> None:
        """Record the decoupled weight decay AdamW just gave the (zero-gradient) unused rows."""
        for g in opt.param_groups:
            if any(p is self.weight for p in g["params"]):
                self.decay *= 1.0 - float(g["lr"]) * float(g.get("weight_decay", 0.0))

    @torch.no_grad()
    def write_back(self) -> None:
        w = self.full.weight
        if self.decay != 1.0:
            w.mul_(self.decay)
        w[self.ids] = self.weight.detach().to(w.dtype)
        self.decay = 1.0

    @torch.no_grad()
    def reload(self) -> None:
        self.weight.copy_(self.full.weight[self.ids])


def compact_embeddings(
    model: nn.Module, rows: Iterable[dict[str, Any]], families: Iterable[str], pad_id: int
) -> CompactEmbedding | None:
    """Swap in a :class:`CompactEmbedding` when it is exact for this run, else ``None``."""
    if any(f not in SAFE_FAMILIES for f in families):
        return None
    enc = getattr(model, "encoder", None)
    get = getattr(enc, "get_input_embeddings", None)
    emb = get() if get else None
    if not isinstance(emb, nn.Embedding) or not emb.weight.requires_grad:
        return None
    shared = [p for _, p in model.named_parameters(remove_duplicate=False) if p is emb.weight]
    if len(shared) != 1 or emb.max_norm is not None or emb.sparse:
        return None  # tied (e.g. an MLM decoder) or not a plain lookup
    used: set[int] = {pad_id}
    for r in rows:
        _flat_ids(r["input_ids"], used)
    if len(used) * 2 > emb.num_embeddings or max(used) >= emb.num_embeddings or min(used) < 0:
        return None
    ids = torch.tensor(sorted(used), dtype=torch.long, device=emb.weight.device)
    compact = CompactEmbedding(emb, ids)
    enc.set_input_embeddings(compact)
    return compact


@contextmanager
def full_embeddings(model: nn.Module, compact: CompactEmbedding | None) -> Iterator[None]:
    """The full, up-to-date table in the model for the block (evaluation, saving)."""
    if compact is None:
        yield
        return
    compact.write_back()
    model.encoder.set_input_embeddings(compact.full)
    try:
        yield
    finally:
        compact.reload()
        model.encoder.set_input_embeddings(compact)


def restore_full(model: nn.Module, compact: CompactEmbedding | None) -> None:
    """End of training: the full table back in the model, for good."""
    if compact is not None:
        compact.write_back()
        model.encoder.set_input_embeddings(compact.full)
