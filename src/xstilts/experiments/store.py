"""Artefact store: ``<out>/steps/<key>/`` per finished step, ``<key>.work`` while running.

Finished steps check themselves when a run reads them back (:meth:`ArtifactStore.verify`):
``done.json`` records every file's size and SHA-256, and a run that finds a step damaged (a bad
copy, a disk error, a file edited by hand) moves it aside into ``steps/.quarantine/`` with a
one-line warning, so the step runs again instead of failing the grid with a traceback
(:func:`settle`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

from xstilts import guardio
from xstilts.errors import DataError, SecurityError, XstiltsError
from xstilts.guardio import QUARANTINE, set_aside  # noqa: F401  (set_aside: re-exported)

_DONE_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "label": str,
    "rows": int,
    "seconds": (int, float),
    "params": dict,
    "deps": dict,
    "files": dict,
}


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
        """Mark complete: write done.json (with every file's size and digest) in the work dir,
        then rename it into place (atomic)."""
        from xstilts.experiments.atomic import write_json

        work, final = self.work(key), self.path(key)
        shutil.rmtree(work / "train_state", ignore_errors=True)
        write_json(work / "done.json", {**meta, "files": file_digests(work)})
        return _into_place(work, final)

    def adopt(self, key: str, other: ArtifactStore) -> Path:
        """Take ``other``'s finished step ``key`` as ours: its files hard-linked (copied across
        filesystems) into a fresh work dir, then moved into place like :meth:`finish`."""
        problem = other.verify(key)
        if problem is not None:
            raise DataError(f"cannot reuse a damaged step: {problem}", where=str(other.path(key)))
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
        """``done.json`` of a finished step, validated (``DataError`` naming the file)."""
        path = self.path(key) / "done.json"
        meta = guardio.read_json(path, max_bytes=guardio.MAX_CONFIG_BYTES)
        if not isinstance(meta, dict):
            raise DataError(f"expected a JSON object, got {type(meta).__name__}", where=str(path))
        for k, t in _DONE_TYPES.items():
            v = meta.get(k)
            if v is not None and (not isinstance(v, t) or isinstance(v, bool)):
                raise DataError(f"expected {t}, got {type(v).__name__}", where=f"{path}:$.{k}")
        return meta

    def verify(self, key: str, results: Any = None) -> str | None:
        """``None`` when the finished step ``key`` is intact, else what is wrong (one line).

        Checks ``done.json``; every file it records (size and SHA-256); the header of every
        safetensors file (catches truncation, garbage and renamed pickles in steps written
        before digests were recorded); every JSON file parses; and, with ``results`` (a
        ``ResultsStore``), that the step's rows file holds the rows ``done.json`` counts.
        """
        d = self.path(key)
        try:
            meta = self.meta(key)
            recorded = meta.get("files") or {}
            for rel, info in recorded.items():
                _check_recorded(d, rel, info)
            for f in sorted(d.rglob("*")):
                if f.name.endswith(".safetensors"):
                    guardio.check_safetensors(f)
                elif f.suffix == ".json" and f.name != "done.json" and f.name not in recorded:
                    guardio.read_json(f)
            n = meta.get("rows") or 0
            if results is not None and n:
                got = len(results.read(key))
                if got != n:
                    raise DataError(
                        f"holds {got} result rows, done.json counts {n}",
                        where=str(results.path(key)),
                    )
        except XstiltsError as exc:
            return exc.one_line()
        return None

    def quarantine(self, key: str, problem: str, results: Any = None) -> Path:
        """Move step ``key`` (and its rows file) into ``steps/.quarantine/``; one warning line."""
        qdir = self.root / QUARANTINE
        qdir.mkdir(parents=True, exist_ok=True)
        dest = qdir / f"{key}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}"
        moved = []
        src = self.path(key)
        if os.path.lexists(src):
            os.replace(src, dest)
            moved.append(dest.name)
        if results is not None and os.path.lexists(results.path(key)):
            os.replace(results.path(key), dest.with_name(dest.name + ".results.json"))
            moved.append(dest.name + ".results.json")
        guardio.warn(
            f"step {key}: damaged ({problem}); moved to {qdir}/ ({', '.join(moved) or 'nothing'})"
            "; the step runs again"
        )
        return dest


def settle(out_dir: str | Path, key: str) -> bool:
    """True when step ``key`` has finished and is intact; a damaged finished step is moved into
    the quarantine (one warning line) and reported unfinished, so it runs again."""
    from xstilts.experiments.results import ResultsStore

    store, results = ArtifactStore(out_dir), ResultsStore(out_dir)
    if not store.done(key):
        if os.path.lexists(store.path(key)) and not store.path(key).is_dir():
            store.quarantine(key, "not a directory", results)
        return False
    problem = store.verify(key, results)
    if problem is None:
        return True
    store.quarantine(key, problem, results)
    return False


def file_digests(d: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` of every file under ``d`` (not ``done.json``)."""
    out = {}
    for f in sorted(d.rglob("*")):
        if f.is_file() and f.name != "done.json":
            out[f.relative_to(d).as_posix()] = {"size": f.stat().st_size, "sha256": _sha256(f)}
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:  # only called on regular files
        while chunk := fh.read(4 * guardio.MiB):
            h.update(chunk)
    return h.hexdigest()


def _check_recorded(d: Path, rel: Any, info: Any) -> None:
    where = str(d / "done.json")
    if (
        not isinstance(rel, str)
        or not isinstance(info, dict)
        or not isinstance(info.get("size"), int)
        or not isinstance(info.get("sha256"), str)
    ):
        raise DataError(f"bad file record {rel!r}", where=f"{where}:$.files")
    f = d / rel
    if ".." in Path(rel).parts or Path(rel).is_absolute():
        raise DataError(f"file record {rel!r} leaves the step", where=f"{where}:$.files")
    st = guardio.check_regular(f)
    if st.st_size != info["size"]:
        raise DataError(f"{st.st_size:,} bytes, done.json records {info['size']:,}", where=str(f))
    if _sha256(f) != info["sha256"]:
        raise DataError("content differs from the digest done.json records", where=str(f))


def _into_place(work: Path, final: Path) -> Path:
    """Rename a finished work dir onto its final name, replacing an unfinished leftover."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(work, final)
    return final
