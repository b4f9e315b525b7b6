"""Where xstilts keeps things on disk: one cache root, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$XSTILTS_CACHE`` or ``~/.cache/xstilts``: converted encoders, tokenised data."""
    env = os.environ.get("XSTILTS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "xstilts"


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The data directory: the ``--data-dir`` flag, else ``$XSTILTS_DATA_DIR``, else none."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("XSTILTS_DATA_DIR")
    return Path(env).expanduser() if env else None
