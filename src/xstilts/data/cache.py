"""Tokenised data cache: keyed by tokenizer, task, split, language, max length and source file.

Features are stored as Arrow (``datasets``) under ``<cache>/features/<key>``, so a second run, a
second seed or a second intermediate task reuses the tokenisation instead of redoing it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from xstilts.paths import cache_root
from xstilts.tasks.family import Features

_CACHE_VERSION = 1


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """Hash of the tokenizer's full definition (not just its name): different files, new key."""
    fp = getattr(tokenizer, "_xstilts_fp", None)
    if fp is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        blob = backend.to_str() if backend is not None else repr(tokenizer.get_vocab())
        fp = hashlib.sha256(blob.encode()).hexdigest()[:16]
        try:
            tokenizer._xstilts_fp = fp
        except AttributeError:
            pass
    return fp


def cached_features(key: str, build, *, enabled: bool = True) -> Features:
    """Return features for ``key``, building and storing them on a miss."""
    if not enabled:
        return build()
    import datasets

    path = cache_root() / "features" / f"v{_CACHE_VERSION}-{key}"
    if (path / "dataset_info.json").exists():
        try:
            ds = datasets.load_from_disk(str(path))
            return {c: ds[c] for c in ds.column_names}
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            pass
    feats = build()
    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict(feats)
    from xstilts.atomic import atomic_path

    with atomic_path(path, first_wins=True) as tmp:  # content-keyed: concurrent writers agree
        ds.save_to_disk(str(tmp))
    return feats


def feature_key(
    tok_fp: str,
    task: str,
    version: int,
    split: str,
    lang: str,
    max_length: int,
    source_fp: str,
    extra: str = "",
) -> str:
    blob = f"{tok_fp}|{task}|v{version}|{split}|{lang}|{max_length}|{source_fp}|{extra}"
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def rows(features: Features) -> list[dict[str, Any]]:
    """Column dict -> list of row dicts (what collate functions take)."""
    cols = list(features)
    n = len(features[cols[0]]) if cols else 0
    return [{c: features[c][i] for c in cols} for i in range(n)]
