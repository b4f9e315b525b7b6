"""The one guarded way to open anything that comes from outside the process.

Data files, configs, task YAML files and their ``include:``s, model and tokenizer files,
dictionaries, typo lists, perturbation resources and the artefacts a run reads back all arrive
through here, because a path on a shared filesystem can be anything:

* **only regular files**: a FIFO (named pipe), socket or device is refused by its path
  (``os.stat``) before any read, since opening a FIFO for reading blocks until a writer comes; the
  file is then opened with ``O_NONBLOCK`` and checked again on the open descriptor, so a FIFO
  swapped in between the two checks cannot block either;
* **size limits**: a file larger than its kind's limit is refused before it is read;
* **strict UTF-8** for text, the bad byte's line named; **JSON nesting** limited;
* every failure is the project's own error (``DataError`` by default) naming the file and, where
  known, the line: the CLI prints it as one line.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from xstilts.errors import DataError, XstiltsError, file_where

GiB = 2**30
MiB = 2**20

# Data files: the largest file in the XTREME layout is a few hundred MB; 8 GiB is far beyond any
# real split and still below what a 2-core job could decode without swapping for hours.
MAX_DATA_BYTES = 8 * GiB
# Configs, task files, model/tokenizer metadata and the JSON records a run writes for itself.
MAX_CONFIG_BYTES = 16 * MiB
# YAML (configs, task files: a few KB each): PyYAML's pure-Python scanner reads ~0.3 MB/s.
MAX_YAML_BYTES = 512 * 2**10
MAX_JSON_BYTES = 1 * GiB
# JSON nesting deeper than this is refused in metadata (real files nest < 10 levels).
MAX_JSON_DEPTH = 200

# Damaged artefacts of a run are moved here (under ``<out>/steps/``), never deleted.
QUARANTINE = ".quarantine"

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
}


def _fail(
    error: type[XstiltsError], path: str | os.PathLike, message: str, line: int | None = None
) -> NoReturn:
    raise error(message, where=file_where(path, line))


def check_regular(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_DATA_BYTES,
    error: type[XstiltsError] = DataError,
) -> os.stat_result:
    """``os.stat`` of ``path`` (symlinks followed), refused unless it is a regular file within
    ``max_bytes``; never opens the file. For files handed on to other libraries as a path."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        _fail(error, path, "file not found")
    except ValueError as exc:  # a NUL byte in a path named by a config
        _fail(error, repr(os.fspath(path)), f"invalid file name: {exc}")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _fail(error, path, "symlink loop")
        _fail(error, path, f"cannot read file: {exc.strerror or exc}")
    _check_stat(st, path, max_bytes, error)
    return st


def _check_stat(
    st: os.stat_result, path: str | os.PathLike, max_bytes: int, error: type[XstiltsError]
) -> None:
    if not stat.S_ISREG(st.st_mode):
        what = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        expected = "expected a file" if stat.S_ISDIR(st.st_mode) else "expected a regular file"
        _fail(error, path, f"is {what}, {expected}")
    if st.st_size > max_bytes:
        _fail(error, path, f"file too large ({st.st_size:,} bytes; the limit is {max_bytes:,})")


def read_bytes(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_DATA_BYTES,
    error: type[XstiltsError] = DataError,
) -> bytes:
    """The bytes of a regular file (see the module docstring for what is refused)."""
    check_regular(path, max_bytes=max_bytes, error=error)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        _fail(error, path, f"cannot read file: {exc.strerror or exc}")
    try:
        _check_stat(os.fstat(fd), path, max_bytes, error)  # swapped after the first check?
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 16 * MiB)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                _fail(error, path, f"file too large (more than the limit of {max_bytes:,} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        _fail(error, path, f"cannot read file: {exc.strerror or exc}")
    finally:
        os.close(fd)


def decode_utf8(
    data: bytes,
    path: str | os.PathLike,
    *,
    error: type[XstiltsError] = DataError,
    allow_nul: bool = False,
) -> str:
    """Strict UTF-8 (a leading BOM dropped); a bad byte or a NUL names its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        _fail(
            error,
            path,
            f"invalid UTF-8 (byte 0x{bad} at offset {exc.start}); expected UTF-8 text",
            line,
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if not allow_nul:
        nul = text.find("\x00")
        if nul >= 0:
            _fail(
                error,
                path,
                "NUL byte in text file (binary or UTF-16?)",
                text.count("\n", 0, nul) + 1,
            )
    return text


def read_text(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_DATA_BYTES,
    error: type[XstiltsError] = DataError,
    allow_nul: bool = False,
) -> str:
    """A regular file as strict UTF-8 text (BOM dropped)."""
    return decode_utf8(
        read_bytes(path, max_bytes=max_bytes, error=error), path, error=error, allow_nul=allow_nul
    )


def json_depth(obj: Any, limit: int) -> bool:
    """True when a parsed JSON value nests at most ``limit`` deep (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        elif not isinstance(v, list):
            continue
        if d > limit:
            return False
        stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return True


def parse_json(
    text: str,
    path: str | os.PathLike,
    *,
    line: int | None = None,
    error: type[XstiltsError] = DataError,
    max_depth: int | None = None,
) -> Any:
    """``json.loads`` whose every failure (syntax, nesting, huge ints) names the file and line;
    ``max_depth``: also refuse nesting deeper than that (metadata other libraries walk
    recursively). Without it Python's parser stops at its recursion limit (about 1,000)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(error, path, f"invalid JSON: {exc.msg} (column {exc.colno})", line or exc.lineno)
    except RecursionError:
        _fail(error, path, "invalid JSON: nested too deeply", line)
    except ValueError as exc:  # e.g. integer string too long to convert
        _fail(error, path, f"invalid JSON: {exc}", line)
    if max_depth is not None and not json_depth(obj, max_depth):
        _fail(error, path, f"invalid JSON: nested deeper than {max_depth} levels", line)
    return obj


def read_json(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    error: type[XstiltsError] = DataError,
    max_depth: int | None = MAX_JSON_DEPTH,
) -> Any:
    """A regular file as one JSON document (UTF-8, nesting limited)."""
    return parse_json(
        read_text(path, max_bytes=max_bytes, error=error),
        path,
        error=error,
        max_depth=max_depth,
    )


def read_yaml(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_YAML_BYTES,
    error: type[XstiltsError] | None = None,
) -> Any:
    """A regular file as YAML (``xstilts.yamlio.load_yaml``: safe, no duplicate keys, no bombs)."""
    from xstilts.errors import ConfigError
    from xstilts.yamlio import load_yaml

    text = read_text(path, max_bytes=max_bytes, error=error or ConfigError)
    return load_yaml(text, os.fspath(path))


def check_safetensors(path: str | os.PathLike, *, error: type[XstiltsError] = DataError) -> None:
    """Refuse a ``.safetensors`` file that is truncated, garbage or a renamed pickle, by its
    header alone (8-byte length, JSON header, every tensor's byte range inside the file)."""
    st = check_regular(path, error=error)
    size = st.st_size
    try:
        with open(path, "rb") as fh:  # a regular file (checked): no blocking open
            head = fh.read(8)
            if len(head) < 8:
                _fail(error, path, "damaged safetensors file: shorter than its 8-byte header")
            n = int.from_bytes(head, "little")
            if n <= 1 or n > min(size - 8, 100 * MiB):
                _fail(error, path, "damaged safetensors file: bad header length (not safetensors?)")
            raw = fh.read(n)
    except OSError as exc:
        _fail(error, path, f"cannot read file: {exc.strerror or exc}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        _fail(error, path, "damaged safetensors file: header is not JSON (not safetensors?)")
    if not isinstance(header, dict):
        _fail(error, path, "damaged safetensors file: header is not a JSON object")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offs = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
            or not 0 <= offs[0] <= offs[1]
        ):
            _fail(error, path, f"damaged safetensors file: bad entry for tensor {name!r}")
        end = max(end, offs[1])
    if 8 + n + end != size:
        _fail(
            error,
            path,
            f"damaged safetensors file: header describes {8 + n + end:,} bytes, the file has "
            f"{size:,} (truncated or padded)",
        )


def warn(message: str) -> None:
    """One line on stderr: something was skipped or set aside, and the run goes on."""
    sys.stderr.write(f"warning: {' '.join(message.split())}\n")
    sys.stderr.flush()


def regular_files(directory: Path) -> list[Path]:
    """The entries of ``directory`` that are regular files (symlinks followed), sorted."""
    out = []
    for p in sorted(directory.iterdir()):
        try:
            if stat.S_ISREG(os.stat(p).st_mode):
                out.append(p)
        except OSError:
            continue
    return out


def set_aside(path: Path, problem: str, steps_root: Path) -> Path:
    """Move one damaged file or directory (a training state) into ``steps/.quarantine/``.

    Here rather than in ``experiments.store`` so that training, which must not import the
    pipeline, sets a damaged state aside the same way a finished step is."""
    qdir = steps_root / QUARANTINE
    qdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}"
    dest = qdir / f"{path.parent.name}.{path.name}.{stamp}"
    os.replace(path, dest)
    warn(f"{path}: damaged ({problem}); moved to {dest}; computed again")
    return dest
