"""Inference: tokenised once, sorted by length, batched with dynamic padding, no autograd."""

from __future__ import annotations

from typing import Any

import torch

from xstilts.data.cache import rows as feature_rows
from xstilts.tasks.family import Family, Features
from xstilts.training.batching import eval_batches

# Batch keys that are targets or decoding aids, never model inputs (the trainer uses the same).
NOT_MODEL_INPUTS = (
    "labels",
    "label_mask",
    "start_positions",
    "end_positions",
    "offsets",
    "cls_index",
)


def predict(
    model: torch.nn.Module,
    family: Family,
    task: str,
    features: Features,
    *,
    batch_size: int = 64,
    pad_id: int = 0,
    device: torch.device | str = "cpu",
    return_logits: bool = False,
) -> list[Any] | tuple[list[Any], list[torch.Tensor]]:
    """Decoded predictions in feature order (and raw logits rows when asked)."""
    rows = feature_rows(features)
    lengths = [len(r["input_ids"]) for r in rows]
    preds: list[Any] = [None] * len(rows)
    logits_out: list[Any] = [None] * len(rows)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for idx in eval_batches(lengths, batch_size):
            batch = family.collate([rows[i] for i in idx], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(task, **{k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS})
            logits = logits.float()  # a bf16 model: decode (argmax ties, span sums) in fp32
            for i, p in zip(idx, family.decode(logits, batch), strict=True):
                preds[i] = p
            if return_logits:
                for j, i in enumerate(idx):
                    logits_out[i] = logits[j].float().cpu()
    model.train(was_training)
    return (preds, logits_out) if return_logits else preds
