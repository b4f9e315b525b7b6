"""The report of a sweep: one grid per sweep point, and the swept values as columns and axes.

``experiments.sweep.sweep_frame`` gives the result rows a column per swept path (``df.attrs
["sweep_paths"]``). ``fold`` puts a row's point into its model label, so every section of the
report scopes by point as it scopes by model (each point is a full grid with its own baseline);
``sweep_section`` adds the table with the swept values as columns and, for a numeric path, the
scaling plot (score against the value).
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xstilts.experiments.sweep import short_names
from xstilts.report import data as D
from xstilts.report.table import Cell, Row, Table


def sweep_paths(df: pd.DataFrame) -> list[str]:
    return [p for p in df.attrs.get("sweep_paths") or [] if p in df.columns]


def _has(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def fold(df: pd.DataFrame) -> pd.DataFrame:
    """Model label ``<model> [<short>=<value>, ...]`` for rows of a sweep point."""
    paths = sweep_paths(df)
    if not paths:
        return df
    names = short_names(paths)
    d = df.copy()
    labels = []
    for model, *vals in zip(d["model"], *(d[p] for p in paths), strict=True):
        shown = [f"{names[p]}={v}" for p, v in zip(paths, vals, strict=True) if _has(v)]
        labels.append(f"{model} [{', '.join(shown)}]" if shown else model)
    d["model"] = labels
    return d.drop(columns=paths)


def sweep_scores(df: pd.DataFrame, main_metric: dict[str, str] | None = None) -> pd.DataFrame:
    """Clean non-English average of each target's main metric per point, set-up and seed."""
    paths = sweep_paths(df)
    d = D.prepare(df)  # a copy: the sweep columns come along
    rows = D.task_rows(d)
    rows = rows[(rows["kind"] == "clean") & (rows["language"] == D.AVG)]
    metrics = D.resolve_main_metrics(rows, main_metric)
    rows = rows[rows["metric"] == rows["task"].map(metrics)]
    rows = rows[rows[paths].notna().all(axis=1)] if paths else rows
    return rows[[*paths, "model", "intermediate", "target", "metric", "seed", "value"]]


def sweep_table(scores: pd.DataFrame, paths: list[str]) -> Table:
    """One row per point x set-up x target: score and Δ vs. the point's baseline (×100)."""
    names = short_names(paths)
    g = scores.groupby([*paths, "model", "target", "intermediate", "metric"], sort=False)["value"]
    stats = g.agg(["mean", "std", "count"]).reset_index()
    cols = [names[p] for p in paths] + ["score", "Δ vs. baseline", "seeds"]
    t = Table(
        "sweep",
        "Sweep: clean non-English average per swept value (×100; Δ in points)",
        "model: set-up → target",
        cols,
        text_columns=frozenset(range(len(paths))),
    )
    many = stats["model"].nunique() > 1
    order = sorted(
        stats.index,
        key=lambda i: (
            stats.at[i, "model"],
            stats.at[i, "target"],
            stats.at[i, "intermediate"] != D.BASELINE,
            stats.at[i, "intermediate"],
            *[_sortable(stats.at[i, p]) for p in paths],
        ),
    )
    for i in order:
        r = stats.loc[i]
        base = stats[
            (stats["model"] == r["model"])
            & (stats["target"] == r["target"])
            & (stats["intermediate"] == D.BASELINE)
        ]
        for p in paths:
            base = base[base[p] == r[p]]
        delta = Cell()
        if r["intermediate"] != D.BASELINE and not base.empty:
            dv = 100 * (r["mean"] - base["mean"].iloc[0])
            delta = Cell(f"{dv:+.1f}".replace("-", "−"), mean=dv, rank=dv)
        score = Cell(
            f"{100 * r['mean']:.1f}",
            mean=100 * r["mean"],
            std=100 * r["std"] if r["count"] > 1 else math.nan,
            n=int(r["count"]),
            rank=100 * r["mean"],
        )
        label = D.row_label(r["model"], r["intermediate"], many) + f" → {r['target']}"
        t.rows.append(
            Row(
                label,
                [Cell(str(r[p])) for p in paths] + [score, delta, Cell(str(int(r["count"])))],
                kind="baseline" if r["intermediate"] == D.BASELINE else "",
            )
        )
    if not t.rows:
        return t
    t.notes.append(
        "A step that does not depend on a swept value (e.g. the baseline when only the "
        "intermediate phase is swept) runs once and is shown for every value."
    )
    return t


def _number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


def _sortable(v: Any) -> tuple[int, Any]:
    return (0, float(v)) if _number(v) else (1, str(v))


def numeric_paths(scores: pd.DataFrame, paths: list[str]) -> list[str]:
    """Swept paths whose values are all numbers (at least two of them): a scaling axis."""
    out = []
    for p in paths:
        vals = scores[p].dropna().unique()
        if len(vals) > 1 and all(_number(v) for v in vals):
            out.append(p)
    return out


def sweep_section(
    df: pd.DataFrame,
    rdir: Path,
    written: dict[str, Path],
    main_metric: dict[str, str] | None = None,
):
    """The report section of a sweep (None when the run is not one)."""
    from xstilts.report import plots as P
    from xstilts.report.build import Block, Section, write_text

    paths = sweep_paths(df)
    if not paths:
        return None
    scores = sweep_scores(df, main_metric)
    sec = Section("sweep", "Sweep")
    names = short_names(paths)
    sec.blocks.append(
        Block(
            "text",
            "Swept: "
            + "; ".join(
                f"{p} ∈ {{{', '.join(map(str, sorted(scores[p].dropna().unique(), key=_sortable)))}}}"
                for p in paths
            )
            + ". Every value is a full grid below (its model label names the value).",
        )
    )
    t = sweep_table(scores, paths)
    if t.rows:
        written["tables/sweep.csv"] = write_text(rdir / "tables" / "sweep.csv", t.csv())
        written["tables/sweep.tex"] = write_text(rdir / "tables" / "sweep.tex", t.latex())
        sec.blocks.append(Block("table", t))
    for p in numeric_paths(scores, paths):
        name = f"sweep_{names[p].replace('.', '_')}"
        fig = P.scaling(scores, p, names[p], rdir / "plots" / f"{name}.png")
        if fig is not None:
            written[f"plots/{name}.png"] = fig
            sec.blocks.append(
                Block("figure", fig, f"Clean non-English average against {p} (mean ± std)")
            )
    return sec
