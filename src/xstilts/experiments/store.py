"""Artefact store: ``<out>/steps/<key>/`` per finished step, ``<key>.work`` while running."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from xstilts.errors import SecurityError


class ArtifactStore:
    def __init__(self, out_dir: str | Path) -> None:
        self.root = Path(out_dir) / "steps"

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise SecurityError(f"step key {key!r} escapes the output directory", where="key")
        return p

    def work(self, key: str) -> Path:
        w = self.path(key).with_name(key + ".work")
        w.mkdir(parents=True, exist_ok=True)
        return w

    def done(self, key: str) -> bool:
        return (self.path(key) / "done.json").exists()

    def finish(self, key: str, meta: dict[str, Any]) -> Path:
        """Mark complete: write done.json in the work dir, then rename it into place (atomic)."""
        work, final = self.work(key), self.path(key)
        (work / "done.json").write_text(json.dumps(meta, indent=2, default=str))
        shutil.rmtree(work / "train_state", ignore_errors=True)
        return _into_place(work, final)

    def adopt(self, key: str, other: ArtifactStore) -> Path:
        """Take ``other``'s finished step ``key`` as ours: its files hard-linked (copied across
        filesystems) into a fresh work dir, then moved into place like :meth:`finish`."""
        src = other.path(key)
        work = self.path(key).with_name(key + ".work")
        shutil.rmtree(work, ignore_errors=True)  # leftovers of an attempt of our own
        work.mkdir(parents=True)
        for f in src.rglob("*"):
            dest = work / f.relative_to(src)
            if f.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f, dest)
            except OSError:
                shutil.copy2(f, dest)
        return _into_place(work, self.path(key))  # done.json came along: atomic completion

    def meta(self, key: str) -> dict[str, Any]:
        return json.loads((self.path(key) / "done.json").read_text())


def _into_place(work: Path, final: Path) -> Path:
    """Rename a finished work dir onto its final name, replacing an unfinished leftover."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(work, final)
    return final
