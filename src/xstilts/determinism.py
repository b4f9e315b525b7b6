"""Opt-in deterministic GPU kernels: ``XSTILTS_DETERMINISTIC=1`` (see docs/reliability.md).

On CPU every run is already bit-identical for the same config and seed, so this changes nothing
there. On GPU it asks PyTorch for deterministic algorithms (cuBLAS with a fixed workspace,
deterministic cuDNN, sort-based embedding/scatter backward), turns TF32 off and cuDNN
autotuning off: slower, and bit-identical between runs on the same GPU model, driver and library
versions. It is an environment switch, not a config field, because it does not change what a
step computes (step keys, hence cached artefacts, stay the same).
"""

from __future__ import annotations

import os

ENV = "XSTILTS_DETERMINISTIC"


def requested() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on")


def apply_from_env() -> bool:
    """Apply the switch in this process when ``$XSTILTS_DETERMINISTIC`` asks for it."""
    if not requested():
        return False
    # must be set before cuBLAS creates its first handle in this process
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    # warn_only: an op without a deterministic kernel warns instead of killing a long grid
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return True
