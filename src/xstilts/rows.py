"""Result rows and their store: every number any step produces, one row each.

Rows are written per step as one JSON file (atomically), so parallel workers never contend for a
lock and a killed run never leaves half a table; DuckDB reads all files as one table for queries,
reports and ``xstilts results``. A step whose rows file exists is done.

Kept outside ``experiments/`` so protocols (``evaluation/``) and alignment write rows and the
comparisons read them without importing the pipeline; ``experiments.results`` re-exports it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from xstilts import guardio
from xstilts.atomic import write_json
from xstilts.errors import DataError, XstiltsError
from xstilts.guardio import warn

COLUMNS = (
    "run_id",
    "config_hash",
    "model",
    "intermediate",
    "target",
    "seed",
    "task",
    "language",
    "split",
    "perturbation",
    "metric",
    "value",
    "step",
    "kind",
)

ROW_KINDS = ("clean", "perturbation", "attack", "retrieval", "alignment", "comparison")
"""What a row measures; the report groups by this, never by parsing names."""


@dataclass(frozen=True)
class ResultRow:
    """One number. ``intermediate`` is ``none`` for the baseline; ``perturbation`` ``none`` if clean."""

    run_id: str
    config_hash: str
    model: str
    intermediate: str
    target: str
    seed: int
    task: str
    language: str
    split: str
    perturbation: str
    metric: str
    value: float
    step: str = ""
    kind: str = ""  # one of ROW_KINDS; "" only in rows written before kinds existed
    params: dict[str, Any] = field(default_factory=dict)  # perturbation/attack parameters as data
    extra: dict[str, Any] = field(default_factory=dict)


ROW_FIELDS = tuple(f.name for f in fields(ResultRow))


class ResultsStore:
    """``<out>/results/<step-key>.json`` files, queried together with DuckDB."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir) / "results"

    def write(self, step_key: str, rows: Iterable[ResultRow]) -> Path:
        path = self.dir / f"{step_key}.json"
        write_json(path, [_row_dict(r) for r in rows])
        return path

    def has(self, step_key: str) -> bool:
        return (self.dir / f"{step_key}.json").exists()

    def path(self, step_key: str) -> Path:
        return self.dir / f"{step_key}.json"

    def read(self, step_key: str) -> list[dict[str, Any]]:
        """One step's rows, validated; a damaged file is a ``DataError`` naming it."""
        return read_rows(self.path(step_key))

    def rows(self) -> list[dict[str, Any]]:
        """Every readable row; a file that cannot be read is skipped and named (one warning
        line each, listed in ``self.skipped``) so one damaged file never makes a finished grid
        unreportable. A run sets such a step aside and computes it again (``store.settle``)."""
        out: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        if not self.dir.is_dir():
            return out
        for path in sorted(self.dir.glob("*.json")):
            try:
                out.extend(read_rows(path))
            except XstiltsError as exc:
                self.skipped.append(exc.one_line())
                warn(f"skipped unreadable results file: {exc.one_line()}")
        out.sort(key=lambda r: tuple(str(r.get(c, "")) for c in COLUMNS))
        return out

    def frame(self):
        """All rows as a pandas DataFrame (empty with the columns when there are none)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*COLUMNS, "extra"])

    def duckdb(self):
        """An in-memory DuckDB connection with a ``results`` view over all rows files."""
        import duckdb

        con = duckdb.connect()
        df = self.frame()  # noqa: F841  (registered by name below)
        con.register("results_df", df)
        con.execute("CREATE VIEW results AS SELECT * FROM results_df")
        return con


def _row_dict(row: ResultRow) -> dict[str, Any]:
    d = asdict(row)
    v = d["value"]
    d["value"] = None if isinstance(v, float) and math.isnan(v) else float(v)
    return d


# What a stored row must hold to be read back (rows of every version of xstilts have these).
_ROW_TYPES: dict[str, type | tuple[type, ...]] = {
    **{c: str for c in COLUMNS if c not in ("seed", "value", "step", "kind")},
    "seed": int,
}
_OPTIONAL_TYPES: dict[str, type | tuple[type, ...]] = {
    "step": str,
    "kind": str,
    "params": dict,
    "extra": dict,
}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A results file's rows: a regular file of UTF-8 JSON, a list of row objects with the
    columns and types a ``ResultRow`` writes; anything else is a ``DataError`` naming the file
    and the JSON path."""
    rows = guardio.read_json(path)
    if not isinstance(rows, list):
        raise DataError(
            f"expected a JSON list of result rows, got {type(rows).__name__}", where=str(path)
        )
    for i, r in enumerate(rows):
        at = f"{path}:$[{i}]"
        if not isinstance(r, dict):
            raise DataError(f"expected a result row object, got {type(r).__name__}", where=at)
        for k, t in _ROW_TYPES.items():
            if k not in r:
                raise DataError(f"missing column {k!r}", where=at)
            if not isinstance(r[k], t) or isinstance(r[k], bool):
                raise DataError(
                    f"column {k!r}: expected {t.__name__}, got {type(r[k]).__name__}", where=at
                )
        v = r.get("value", None)
        if "value" not in r or not (
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
        ):
            raise DataError(
                f"column 'value': expected a number or null, got {type(v).__name__}", where=at
            )
        for k, t in _OPTIONAL_TYPES.items():
            if r.get(k) is not None and not isinstance(r[k], t):
                raise DataError(
                    f"column {k!r}: expected {t.__name__}, got {type(r[k]).__name__}", where=at
                )
    return rows
