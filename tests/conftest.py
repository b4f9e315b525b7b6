"""Shared fixtures: the real data beside the clone and the real offline encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XSTILTS_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real XTREME data. CI has it, so its absence is a failure, not a skip."""
    assert SHARED_DATA.is_dir(), f"real data expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def offline_encoder() -> Path:
    """The real multilingual-e5-small checkpoint (converted once into the cache)."""
    from xstilts.models.offline import offline_encoder_dir

    return offline_encoder_dir()
