"""Identity of work and data: one content key, one way to fingerprint files.

Step keys, cache keys and data fingerprints are all built from these primitives, so equal inputs
get equal keys everywhere and a changed file changes every key that depends on it. A step's data
fingerprint (``xstilts.data.sources.data_fingerprint``) covers every file its reader opens, as the
reader declares them (``xstilts.data.readers.files_read``), how it is read, and a Hugging Face
source's revision. Fingerprints use size and modification time, not content: cheap at plan time
for many large files, and an edited file always gets a new mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def content_key(*parts: Any) -> str:
    """Stable short hash of anything JSON-like (used for caches and step keys)."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_fingerprint(path: Path) -> str:
    """``<path>:<size>:<mtime_ns>``; ``<path>:absent`` for an optional file that is not there."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return f"{os.fspath(path)}:absent"
    return f"{os.fspath(path)}:{st.st_size}:{st.st_mtime_ns}"


def files_digest(paths: Iterable[Path]) -> str:
    """Short hash of the fingerprints of several files, in order."""
    joined = "|".join(file_fingerprint(p) for p in paths)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]
