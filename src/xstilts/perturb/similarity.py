"""The label-preservation constraint's encoder: sentence similarity of original and adversarial
text under a separate model (the offline multilingual encoder by default), never the victim."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch


@functools.lru_cache(maxsize=2)
def _load(name: str, device: str, dtype: str):
    from xstilts.models.encoder import load_encoder, load_tokenizer, resolve_model
    from xstilts.models.model import MultiTaskModel

    ref = resolve_model(name, where="similarity.encoder")
    model = MultiTaskModel(load_encoder(ref)).to(device=device, dtype=getattr(torch, dtype)).eval()
    return model, load_tokenizer(ref), ref


def encoder_similarity(name: str = "offline", *, device: Any = None, dtype: Any = None):
    """``sim(a, b) -> cosine of each pair`` with mean-pooled last-layer embeddings (the e5
    ``query: `` prefix for symmetric similarity, as retrieval uses it)."""
    from xstilts.experiments.retrieval import default_prefix, embed

    dev = str(device or "cpu")
    dt = str(dtype or torch.float32).replace("torch.", "")
    model, tok, ref = _load(name, dev, dt)
    prefix = default_prefix(ref.name)

    def sim(a: list[str], b: list[str]) -> np.ndarray:
        e = embed(model, tok, list(a) + list(b), layer=-1, prefix=prefix, device=dev)
        e = torch.nn.functional.normalize(e, dim=-1)
        return (e[: len(a)] * e[len(a) :]).sum(-1).numpy()

    return sim
