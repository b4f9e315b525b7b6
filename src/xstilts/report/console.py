"""The demo's answers for the console, built by the report's own table functions so that console
and report agree: the transfer Δ table, the robustness table (clean, perturbed and attacked
scores) and alignment per layer."""

from __future__ import annotations

from pathlib import Path

from xstilts.report.table import Cell, Row, Table


def demo_tables(out_dir: str | Path) -> list[Table]:
    """The demo's answers as the report builds them, for the console: the transfer Δ table, the
    robustness table (clean, perturbed and attacked scores), and alignment per layer."""
    import pandas as pd

    from xstilts.experiments.sweep import sweep_frame
    from xstilts.report import data as D
    from xstilts.report.tables import (
        alignment_curves,
        attack_table,
        paper_table,
        robustness_table,
    )
    from xstilts.tasks.registry import all_tasks

    df = sweep_frame(out_dir)
    main_metric = {t.name: t.main_metric for t in all_tasks().values()}
    out = [paper_table(df, main_metric)]
    d = D.prepare(df)
    rows = D.task_rows(d)
    for target in D.resolve_main_metrics(rows, main_metric):
        kinds = rows.loc[rows["task"] == target, "kind"]
        if kinds.isin(["perturbed", "attack"]).any():
            out.append(robustness_table(df, target, main_metric))
        if (kinds == "attack").any():
            out.append(attack_table(df, target))
    curves = alignment_curves(df)
    for metric, g in curves.groupby("metric", sort=True):
        cks = list(dict.fromkeys(g["checkpoint"]))
        sc, dec = D.scale_of(metric), D.decimals_of(metric)
        t = Table(
            f"alignment_layers_{metric}",
            f"Alignment per layer: {metric}" + (" ×100" if sc == 100 else ""),
            "layer",
            cks,
        )
        piv = g.pivot_table(index="layer", columns="checkpoint", values="mean")
        for layer, r in piv.iterrows():
            t.rows.append(
                Row(
                    str(layer),
                    [Cell(f"{sc * r[c]:.{dec}f}") if pd.notna(r.get(c)) else Cell() for c in cks],
                )
            )
        out.append(t)
    return [t for t in out if t.rows]
