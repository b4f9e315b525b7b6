"""Result rows and their store: every number any step produces, one row each.

Rows are written per step as one JSON file (atomically), so parallel workers never contend for a
lock and a killed run never leaves half a table; DuckDB reads all files as one table for queries,
reports and ``xstilts results``. A step whose rows file exists is done.

Rows describe themselves: ``kind`` says what a row measures (:data:`ROW_KINDS`) and ``params``
holds the perturbation's or attack's parameters as data (``{"name": <registry name>, **params}``,
e.g. ``{"name": "char_swap", "rate": 0.1}``). Readers group by them and never parse labels.
Rows written before kinds existed are completed by :func:`normalise`, the only place that infers
a kind or parameters from names. Stored per-language averages (``language == "avg"``) are
dropped when read: averages are computed on read, over a language set the reader declares
(:mod:`xstilts.evaluation.aggregate`).

Kept outside ``experiments/`` so protocols (``evaluation/``) and alignment write rows and the
readers (report, aggregates, comparisons) read them without importing the pipeline;
``experiments.results`` re-exports it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
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
        """Every stored row, normalised (:func:`normalise`), in a stable order."""
        out: list[dict[str, Any]] = []
        if not self.dir.is_dir():
            return out
        for path in sorted(self.dir.glob("*.json")):
            out.extend(json.loads(path.read_text(encoding="utf-8")))
        return normalise(out)

    def frame(self):
        """All rows as a pandas DataFrame (empty with the columns when there are none)."""
        return frame(self.rows())

    def duckdb(self):
        """An in-memory DuckDB connection with a ``results`` table of every (normalised) row;
        ``params`` and ``extra`` are JSON text (query them with ``json_extract``)."""
        import duckdb

        df = self.frame()
        for col in ("params", "extra"):
            df[col] = [json.dumps(v or {}, sort_keys=True, default=str) for v in df[col]]
        con = duckdb.connect()
        con.register("results_df", df)
        con.execute("CREATE TABLE results AS SELECT * FROM results_df")
        con.unregister("results_df")
        return con

    def sql(self, query: str):
        """The result of one SQL query over the ``results`` table, as a DataFrame; a bad query
        is a one-line :class:`~xstilts.errors.ConfigError` with DuckDB's message."""
        import duckdb

        from xstilts.errors import ConfigError

        con = self.duckdb()
        try:
            return con.execute(query).fetchdf()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(first, where="--sql") from None
        finally:
            con.close()


def _row_dict(row: ResultRow) -> dict[str, Any]:
    d = asdict(row)
    v = d["value"]
    d["value"] = None if isinstance(v, float) and math.isnan(v) else float(v)
    return d


ROW_FIELDS = tuple(f.name for f in fields(ResultRow))
STORED_AVERAGE = "avg"  # language of the averages old runs stored; ignored on read


def frame(rows: list[dict[str, Any]]):
    """Rows as a pandas DataFrame with every field (empty with the columns when there are none)."""
    import pandas as pd

    if not rows:
        return pd.DataFrame(columns=list(ROW_FIELDS))
    return pd.DataFrame(rows)


def normalise(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as readers expect them: every field present, ``kind`` and ``params`` filled (inferred
    for rows written before they existed), stored ``avg`` rows dropped, in a stable order."""
    out = []
    for r in rows:
        if r.get("language") == STORED_AVERAGE:
            continue
        d = {f: r.get(f) for f in ROW_FIELDS} | {k: v for k, v in r.items() if k not in ROW_FIELDS}
        d["extra"] = dict(d.get("extra") or {})
        d["params"] = dict(d.get("params") or {})
        d["perturbation"] = d.get("perturbation") or "none"
        d["step"] = d.get("step") or ""
        if not d.get("kind"):
            d["kind"] = legacy_kind(d)
            if not d["params"] and d["kind"] in ("perturbation", "attack"):
                d["params"] = legacy_params(d["perturbation"], d["kind"])
        elif d["kind"] not in ROW_KINDS:
            from xstilts.errors import DataError

            raise DataError(
                f"unknown row kind {d['kind']!r} (known: {', '.join(ROW_KINDS)})",
                where=f"results/{d['step']}.json",
            )
        out.append(d)
    out.sort(key=lambda r: tuple(str(r.get(c, "")) for c in COLUMNS))
    return out


# -- rows written before kinds and params existed (the only place that reads names) -----------

_LEGACY_ALIGNMENT = frozenset(
    {"tatoeba_acc", "bucc_f1", "cka", "pair_margin", "lang_id_acc", "cosine", "retrieval_acc"}
    | {"pair_rank", "perturbed_self_cos", "perturbed_translation_cos"}
)
_LEGACY_ATTACK = frozenset(
    {"accuracy_under_attack", "attack_success_rate", "avg_queries", "clean_accuracy"}
)
_LEGACY_COMPARISON = frozenset({"delta_vs_baseline", "delta_ci_low", "delta_ci_high", "mcnemar_p"})
_RATE = re.compile(r"^(?P<name>.+?)@(?P<rate>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)$")


def legacy_kind(row: Mapping[str, Any]) -> str:
    """The kind of a row written before kinds existed, from its step, metric and labels."""
    step, metric = str(row.get("step") or ""), str(row.get("metric") or "")
    pert = str(row.get("perturbation") or "none")
    if step.startswith("compare-") or metric in _LEGACY_COMPARISON:
        return "comparison"
    if step.startswith("retrieve-"):
        return "retrieval"
    extra = row.get("extra") or {}
    if step.startswith("align-") or metric in _LEGACY_ALIGNMENT or "layer" in extra:
        return "alignment"
    if step.startswith("attack-") or pert.startswith("attack:") or metric in _LEGACY_ATTACK:
        return "attack"
    return "clean" if pert == "none" else "perturbation"


def legacy_params(label: str, kind: str) -> dict[str, Any]:
    """Parameters of an old row's perturbation or attack from its default label
    (``char_swap@0.1``, ``attack:greedy@200``); a custom label gives its name only."""
    name = label.removeprefix("attack:")
    m = _RATE.match(name)
    if not m:
        return {"name": name}
    value = float(m.group("rate"))
    if kind == "attack":
        return {"name": m.group("name"), "query_budget": int(value)}
    return {"name": m.group("name"), "rate": value}
