"""Atomic writes: a file is either absent or complete, whatever kills the process.

Also the two guards every writer shares: ``safe_join`` (a path named by a config stays inside the
output directory) and ``disk_error`` (a full disk, a read-only or unwritable directory becomes one
clear error naming where, whichever library was writing: Python, safetensors or torch).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xstilts.errors import SecurityError, XstiltsError

# errnos that mean "this machine cannot store the output", not a bug
DISK_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.EIO,
}
_DISK_WORDS = ("no space left", "os error 28", "read-only file system", "permission denied")
_LOW_FREE = 16 * 2**20  # below this, a failed write is blamed on the full disk


@contextmanager
def atomic_path(path: str | os.PathLike, *, first_wins: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path; on success rename it over ``path`` (file or directory).

    ``first_wins``: for content-keyed entries (equal key, equal content) written by concurrent
    workers: a directory another writer already put in place is kept and ours discarded, so a
    reader never sees it removed and replaced under it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
    except OSError as exc:
        raise XstiltsError(f"cannot write there: {exc.strerror}", where=str(path.parent)) from None
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            if first_wins:
                return
            shutil.rmtree(path)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if first_wins and exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and path.is_dir():
                return  # another worker finished the same entry between our check and rename
            raise
    except OSError as exc:
        raise XstiltsError(f"cannot write: {exc.strerror}", where=str(path)) from None
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def safe_join(out_dir: str | os.PathLike, rel: str | os.PathLike, *, where: str = "path") -> Path:
    """``out_dir / rel``, refused unless it stays inside ``out_dir``.

    For every output path a config names: an absolute path, a ``..`` component, a NUL byte or a
    symlink (anywhere along the way) leading outside the output directory is a ``SecurityError``
    naming the config field ``where``.
    """
    text = os.fspath(rel)
    if not text or "\x00" in text:
        raise SecurityError(f"invalid output path {text!r}", where=where)
    p = Path(text)
    if p.is_absolute() or p.drive or p.root:
        raise SecurityError(
            f"output path {text!r} is absolute; give a path inside the output directory",
            where=where,
        )
    if ".." in p.parts:
        raise SecurityError(f"output path {text!r} leaves the output directory (..)", where=where)
    base = Path(out_dir).resolve()
    joined = base / p
    if not joined.resolve().is_relative_to(base):
        raise SecurityError(
            f"output path {text!r} leads outside the output directory through a symlink",
            where=where,
        )
    return joined


def disk_error(exc: BaseException, where: str | os.PathLike) -> XstiltsError | None:
    """The clear error for a write that failed because of the disk, else ``None`` (a bug).

    ``OSError`` carries an errno; safetensors and torch wrap the OS error in their own exception
    types (torch's message does not even say why), so for those the free space decides.
    """
    if isinstance(exc, XstiltsError):
        return exc
    where = os.fspath(exc.filename) if getattr(exc, "filename", None) else os.fspath(where)
    reason = None
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        reason = exc.strerror or str(exc)
    elif any(w in str(exc).lower() for w in _DISK_WORDS):
        reason = str(exc).splitlines()[0][:200]
    elif isinstance(exc, (OSError, RuntimeError)) or type(exc).__name__ == "SafetensorError":
        free = _free_bytes(where)
        if free is not None and free < _LOW_FREE:
            reason = f"no space left on device ({free:,} bytes free)"
    if reason is None:
        return None
    return XstiltsError(
        f"cannot write the output: {reason}; free space or choose another --out, then run the "
        "same command again (finished steps are kept)",
        where=where,
    )


@contextmanager
def disk_errors(where: str | os.PathLike) -> Iterator[None]:
    """Turn a disk failure inside the block into ``disk_error``'s clear error; re-raise the rest."""
    try:
        yield
    except Exception as exc:
        err = disk_error(exc, where)
        if err is None or err is exc:
            raise
        raise err from exc


def _free_bytes(path: str | os.PathLike) -> int | None:
    p = Path(path)
    for cand in (p, *p.parents):
        try:
            return shutil.disk_usage(cand).free
        except OSError:
            continue
    return None
