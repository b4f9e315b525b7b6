"""Result rows and their store: every number any step produces, one row each.

Rows are written per step as one JSON file (atomically), so parallel workers never contend for a
lock and a killed run never leaves half a table; DuckDB reads all files as one table for queries,
reports and ``xstilts results``. A step whose rows file exists is done.

Kept outside ``experiments/`` so protocols (``evaluation/``) and alignment write rows and the
comparisons read them without importing the pipeline; ``experiments.results`` re-exports it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from xstilts.atomic import write_json

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

    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.dir.is_dir():
            return out
        for path in sorted(self.dir.glob("*.json")):
            out.extend(json.loads(path.read_text(encoding="utf-8")))
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
