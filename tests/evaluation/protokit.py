"""Helpers for protocol tests: plain step and context objects (what the executor passes)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch


def step(kind: str, params: dict, key: str = "k") -> SimpleNamespace:
    return SimpleNamespace(kind=kind, params=params, key=f"{kind}-{key}", label=kind)


def ctx(tmp_path: Path, ckpt: Path | None) -> SimpleNamespace:
    return SimpleNamespace(
        work_dir=tmp_path, inputs={"checkpoint": ckpt} if ckpt else {}, progress=None
    )


def record_forward(model) -> list[tuple[torch.device, torch.dtype]]:
    """(device, dtype) of the encoder's output in every forward pass."""
    seen: list[tuple[torch.device, torch.dtype]] = []
    enc = getattr(model, "encoder", model)
    enc.register_forward_hook(
        lambda _m, _i, out: seen.append((out.last_hidden_state.device, out.last_hidden_state.dtype))
    )
    return seen


def params(model_dir: Path, **kw) -> dict:
    from dataclasses import asdict

    from xstilts.models.encoder import resolve_model

    return {
        "model": asdict(resolve_model(str(model_dir))),
        "labels": {"run_id": "t", "config_hash": "h", "model": "tiny", "intermediate": "none",
                   "target": "demo-sentiment", "seed": 1},
        "languages": ["de"], "split": "test", "batch_size": 8, "max_length": 32,
        "task": "demo-sentiment", **kw,
    }  # fmt: skip
