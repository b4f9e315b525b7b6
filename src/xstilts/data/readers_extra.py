"""Readers built from other readers.

* ``concat``: one split from several files read with the same inner reader, in order (English POS
  training from UD English-EWT ``dev`` + ``test`` CoNLL-U when the treebank's train file is not
  there). The source's ``path`` is the first file; ``files`` lists the others, relative to the
  first file's directory (or absolute). Example ids stay the inner reader's ``<file-stem>-<row>``,
  unique as long as the files' stems differ (checked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xstilts.data.readers import READERS, Example, _fail, files_read, opens, read


class ConcatParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str  # the inner reader
    files: list[str] = Field(default_factory=list)  # more files after ``path``
    params: dict[str, Any] = Field(default_factory=dict)  # the inner reader's params


def _paths(path: Path, cfg: ConcatParams) -> list[Path]:
    return [path] + [Path(f) if Path(f).is_absolute() else path.parent / f for f in cfg.files]


@opens("concat")
def _concat_files(path: Path, cfg: ConcatParams) -> list[Path]:
    return [f for p in _paths(path, cfg) for f in files_read(cfg.format, p, cfg.params)]


@READERS.register("concat", config=ConcatParams)
def read_concat(path: Path, cfg: ConcatParams) -> list[Example]:
    """The examples of ``path`` then of each of ``files``, read with reader ``format``."""
    if cfg.format == "concat":
        _fail(path, None, "concat cannot nest concat")
    paths = _paths(path, cfg)
    out: list[Example] = []
    seen: dict[str, Path] = {}
    for p in paths:
        for ex in read(cfg.format, p, cfg.params, where="concat.params"):
            if ex.get("id") in seen:
                _fail(p, None, f"duplicate example id {ex['id']!r} (also in {seen[ex['id']]})")
            seen[ex["id"]] = p
            out.append(ex)
    return out
