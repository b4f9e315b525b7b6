"""Inference: tokenised once, sorted by length, batched with dynamic padding, no autograd."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from xstilts.data.cache import rows as feature_rows

if TYPE_CHECKING:  # annotations only: evaluation/ does not import tasks/ at run time
    from xstilts.tasks.family import Family, Features

# Batch keys that are targets or decoding aids, never model inputs (the trainer uses the same).
NOT_MODEL_INPUTS = (
    "labels",
    "label_mask",
    "start_positions",
    "end_positions",
    "offsets",
    "cls_index",
)


def eval_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Sorted by length (longest first) for inference: minimal padding, deterministic."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def predict(
    model: torch.nn.Module,
    family: Family,
    task: str,
    features: Features,
    *,
    batch_size: int = 64,
    pad_id: int = 0,
    device: torch.device | str | None = None,
    return_logits: bool = False,
) -> list[Any] | tuple[list[Any], list[torch.Tensor]]:
    """Decoded predictions in feature order (and raw logits rows when asked).

    Batches go to ``device``, by default the device the model's weights are on: the caller (a
    protocol, the trainer) placed it by the device policy, and inference follows it.
    """
    from xstilts.models.device import model_device

    device = model_device(model) if device is None else device
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
