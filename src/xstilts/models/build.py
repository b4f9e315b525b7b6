"""The one place that builds a model from a reference and loads a checkpoint into it.

Training (``experiments/pipeline.py``), every protocol (``evaluation/protocols/``) and the
alignment probes load through here, so a checkpoint is read the same way everywhere; where the
model then runs is the device policy's business (``models/device.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.models.encoder import EncoderRef, load_encoder, load_tokenizer
from xstilts.models.model import MultiTaskModel, load_state


def build_model(ref: EncoderRef, p: dict[str, Any]) -> tuple[MultiTaskModel, Any]:
    """(``MultiTaskModel`` around the pretrained encoder, tokenizer); ``p`` may allow remote code
    or pickled weights (both off unless a config asks)."""
    tok = load_tokenizer(ref, trust_remote_code=p.get("trust_remote_code", False))
    enc = load_encoder(
        ref,
        trust_remote_code=p.get("trust_remote_code", False),
        allow_pickle=p.get("allow_pickle", False),
    )
    return MultiTaskModel(enc), tok


def load_model(
    ref: EncoderRef,
    checkpoint: Path | None,
    p: dict[str, Any],
    *,
    encoder_only: bool,
) -> tuple[MultiTaskModel, Any]:
    """The model of ``checkpoint`` (None: the pretrained encoder) in eval mode, and its tokenizer.

    ``encoder_only`` keeps heads out (embedding protocols); otherwise the checkpoint's heads are
    rebuilt from its ``heads.json``.
    """
    model, tok = build_model(ref, p)
    if checkpoint is not None:
        load_state(model, Path(checkpoint), encoder_only=encoder_only)
    model.eval()
    return model, tok
