"""Per-layer sentence vectors with a disk cache: one forward pass per input, every layer at once.

``layer_states`` returns ``[n_layers + 1, n, hidden]`` (index 0 = embedding output), each layer
mean-pooled over the real tokens (mask-aware). States are stored as safetensors under
``<cache>/hidden/<key>/`` keyed by (checkpoint fingerprint, input-set fingerprint, max length,
dtype), so a new metric or a new perturbation of one side never re-encodes the clean inputs of
the other; the model is loaded only on a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from xstilts.models.encoder import EncoderRef
from xstilts.paths import cache_root

_CACHE_VERSION = 1

# Process-wide counters: ``forward_batches`` and ``encoded`` grow only on cache misses (tests use
# them to prove a second call is served from disk).
COUNTERS: Counter[str] = Counter()


@dataclass
class Checkpoint:
    """A model to probe: the pretrained encoder (``path`` None) or a trained checkpoint dir.

    ``intermediate`` / ``target`` are the grid coordinates written into result rows.
    """

    label: str
    ref: EncoderRef
    path: Path | None = None
    intermediate: str = "none"
    target: str = "none"
    trust_remote_code: bool = False
    allow_pickle: bool = False
    _loaded: Any = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """Content key: the encoder files, plus the checkpoint's weights file (size, mtime)."""
        parts = [self.ref.fingerprint]
        if self.path is not None:
            f = Path(self.path) / "model.safetensors"
            st = f.stat()
            parts.append(f"{Path(self.path).resolve()}:{st.st_size}:{st.st_mtime_ns}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def load(self) -> tuple[torch.nn.Module, Any]:
        """(bare encoder in eval mode, tokenizer), loaded once through ``models.build`` and
        placed on the device policy's device (fp32: cached states do not depend on a dtype)."""
        if self._loaded is None:
            from xstilts.models.build import load_model
            from xstilts.models.device import place

            model, tok = load_model(
                self.ref,
                self.path,
                {"trust_remote_code": self.trust_remote_code, "allow_pickle": self.allow_pickle},
                encoder_only=True,
            )
            place(model, "fp32")
            self._loaded = (model.encoder.eval(), tok)
        return self._loaded

    def unload(self) -> None:
        self._loaded = None


def texts_fingerprint(texts: Sequence[str]) -> str:
    h = hashlib.sha256(str(len(texts)).encode())
    for t in texts:
        h.update(b"\x00")
        h.update(t.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def states_key(ckpt_fp: str, texts_fp: str, max_length: int, dtype: str) -> str:
    blob = f"v{_CACHE_VERSION}|{ckpt_fp}|{texts_fp}|mean|{max_length}|{dtype}"
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def hidden_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$XSTILTS_HIDDEN_CACHE``, else ``<cache root>/hidden``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("XSTILTS_HIDDEN_CACHE")
    return Path(env).expanduser() if env else cache_root() / "hidden"


@torch.inference_mode()
def encode_layers(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int = 128,
    batch_size: int = 64,
) -> torch.Tensor:
    """``[n_layers + 1, n, hidden]`` float32 mean-pooled states, batches sorted by length."""
    if not texts:
        raise ValueError("no texts to encode")
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)
    ids = enc["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    pad = tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    out: torch.Tensor | None = None
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        width = max(len(ids[i]) for i in idx)
        x = torch.full((len(idx), width), pad, dtype=torch.long)
        m = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, : len(ids[i])] = torch.tensor(ids[i])
            m[r, : len(ids[i])] = 1
        x, m = x.to(device), m.to(device)
        res = model(input_ids=x, attention_mask=m, output_hidden_states=True, return_dict=True)
        COUNTERS["forward_batches"] += 1
        COUNTERS["encoded"] += len(idx)
        hs = torch.stack(res.hidden_states)  # [L+1, b, t, h]
        w = m.to(hs.dtype)[None, :, :, None]
        pooled = (hs * w).sum(2) / w.sum(2).clamp(min=1e-6)
        if out is None:
            out = torch.empty(pooled.shape[0], len(ids), pooled.shape[2], dtype=torch.float32)
        out[:, torch.tensor(idx)] = pooled.float().cpu()
    assert out is not None
    return out


def layer_states(
    ckpt: Checkpoint,
    texts: Sequence[str],
    *,
    max_length: int = 128,
    batch_size: int = 64,
    dtype: str = "float16",
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Cached ``encode_layers`` for a checkpoint: float32 ``[n_layers + 1, n, hidden]``."""
    from safetensors.torch import load_file, save_file

    key = states_key(ckpt.fingerprint, texts_fingerprint(texts), max_length, dtype)
    path = hidden_cache_dir(cache_dir) / key
    if use_cache and (path / "states.safetensors").exists():
        try:
            t = load_file(str(path / "states.safetensors"))["states"]
            if t.shape[1] == len(texts):
                COUNTERS["cache_hits"] += 1
                return t.float()
        except Exception:  # a damaged entry is recomputed, never trusted
            pass
    COUNTERS["cache_misses"] += 1
    model, tok = ckpt.load()
    states = encode_layers(model, tok, texts, max_length=max_length, batch_size=batch_size)
    if use_cache:
        stored = states.to(getattr(torch, dtype)).contiguous()
        _write_atomic(
            path,
            lambda d: (
                save_file({"states": stored}, str(d / "states.safetensors")),
                (d / "meta.json").write_text(
                    json.dumps(
                        {
                            "checkpoint": ckpt.label,
                            "checkpoint_fp": ckpt.fingerprint,
                            "n": len(texts),
                            "shape": list(stored.shape),
                            "dtype": dtype,
                            "max_length": max_length,
                            "pooling": "mean",
                        },
                        indent=2,
                    )
                ),
            ),
        )
        return stored.float()  # what a later hit returns, so first and second calls agree
    return states


def _write_atomic(path: Path, fill) -> None:
    """Fill a temporary sibling dir, then rename it into place (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        fill(tmp)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except OSError:
        pass  # another process won the race, or the cache is read-only: the states are still good
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
