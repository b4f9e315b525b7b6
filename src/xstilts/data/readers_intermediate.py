"""Readers for intermediate tasks built from the dev sets that ``../shared/data`` holds.

* ``exclude``: the examples of ``path`` (read with an inner reader) minus those whose id occurs in
  other files (read with their own reader). SQuAD v1.1 dev minus XQuAD: XQuAD's 240 paragraphs are
  SQuAD dev paragraphs with the same 1,190 question ids, so an intermediate phase trained on all of
  SQuAD dev would have seen the English original of every XQuAD test question.
  ``expect_removed`` makes a silent mismatch (another SQuAD or XQuAD release) an error.

Files are opened through :func:`xstilts.data.readers.read` (plain reads, as every reader of
``readers.py`` does today); nothing here opens a file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xstilts.data.readers import READERS, Example, _fail, read


class ExcludeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str  # the inner reader of ``path``
    params: dict[str, Any] = Field(default_factory=dict)
    exclude: list[str] = Field(min_length=1)  # files relative to path's folder (or absolute)
    exclude_format: str | None = None  # default: ``format``
    exclude_params: dict[str, Any] = Field(default_factory=dict)
    expect_removed: int | None = Field(None, ge=0)  # how many examples must be dropped


@READERS.register("exclude", config=ExcludeParams)
def read_exclude(path: Path, cfg: ExcludeParams) -> list[Example]:
    """The examples of ``path`` whose id is not an id of any ``exclude`` file, in file order."""
    if "exclude" in (cfg.format, cfg.exclude_format):
        _fail(path, None, "exclude cannot nest exclude")
    drop: set[str] = set()
    for f in cfg.exclude:
        p = Path(f) if Path(f).is_absolute() else path.parent / f
        inner = read(cfg.exclude_format or cfg.format, p, cfg.exclude_params, where="exclude")
        drop.update(str(ex["id"]) for ex in inner)
    examples = read(cfg.format, path, cfg.params, where="exclude.params")
    kept = [ex for ex in examples if str(ex["id"]) not in drop]
    removed = len(examples) - len(kept)
    if cfg.expect_removed is not None and removed != cfg.expect_removed:
        _fail(
            path,
            None,
            f"expected to remove {cfg.expect_removed} examples whose ids are in "
            f"{', '.join(cfg.exclude)}, removed {removed}",
        )
    if not kept:
        _fail(path, None, "every example was excluded")
    return kept
