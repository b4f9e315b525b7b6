"""The report's tables, built from the results frame (pure: DataFrame in, :class:`Table` out).

``paper_table`` is the layout of Phang et al. (2020): one row per intermediate task, one column per
target task, Δ against the no-intermediate baseline on the average over non-English languages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from xstilts.report import data as D
from xstilts.report.stats import Summary, paired_pvalue, significance_mark, summarize
from xstilts.report.table import Cell, Row, Table

UNPAIRED = "†"
AVG_COL = "Avg"


# -- cell builders ----------------------------------------------------------------------------


def _fmt(x: float, dec: int, signed: bool = False) -> str:
    return f"{x:+.{dec}f}" if signed else f"{x:.{dec}f}"


def value_cell(
    s: pd.Series | None, scale: float = 100.0, dec: int = 1, ci: bool = False, signed: bool = False
) -> Cell:
    """Mean ± std over seeds (± omitted with one seed); ``ci`` adds the 95% t-interval."""
    if s is None or len(s) == 0:
        return Cell()
    sm: Summary = summarize(s.to_numpy(dtype=float) * scale)
    text = _fmt(sm.mean, dec, signed)
    if sm.n > 1:
        text += f" ± {sm.std:.{dec}f}"
        if ci:
            text += f" [{sm.ci_low:.{dec}f}, {sm.ci_high:.{dec}f}]"
    return stats_cell(sm, text)


def stats_cell(sm: Summary, text: str, p: float = math.nan) -> Cell:
    """A cell showing ``text`` that carries the summary's statistics and the mark of ``p``."""
    return Cell(
        text=text,
        mark=significance_mark(p),
        rank=sm.mean,
        mean=sm.mean,
        std=sm.std,
        n=sm.n,
        ci_low=sm.ci_low,
        ci_high=sm.ci_high,
        p_value=p,
    )


def delta_cell(
    x: pd.Series | None, base: pd.Series | None, scale: float = 100.0, dec: int = 1
) -> Cell:
    """Δ = treated − baseline, paired over the seeds both have.

    Two or more shared seeds: mean ± std of the per-seed differences and a paired t-test mark.
    One shared seed: the single difference, untested. No shared seed: Δ of the means ± the
    treated runs' std, untested, flagged ``†``.
    """
    if x is None or base is None or len(x) == 0 or len(base) == 0:
        return Cell()
    common = x.index.intersection(base.index)
    if len(common) >= 1:
        d = (x.loc[common] - base.loc[common]).to_numpy(dtype=float) * scale
        sm = summarize(d)
        p = paired_pvalue(x, base)
        text = _fmt(sm.mean, dec, True) + (f" ± {sm.std:.{dec}f}" if sm.n > 1 else "")
        return stats_cell(sm, text, p)
    sx = summarize(x.to_numpy(dtype=float) * scale)
    sb = summarize(base.to_numpy(dtype=float) * scale)
    mean = sx.mean - sb.mean
    text = _fmt(mean, dec, True) + (f" ± {sx.std:.{dec}f}" if sx.n > 1 else "")
    return Cell(text=text, note=UNPAIRED, rank=mean, mean=mean, std=sx.std, n=sx.n)


def _seedwise_mean(series: list[pd.Series]) -> pd.Series | None:
    """Per-seed mean over columns, on the seeds every column has (None if any column is missing)."""
    if not series or any(s is None or len(s) == 0 for s in series):
        return None
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    if len(common) == 0:
        return None
    return pd.concat([s.loc[common] for s in series], axis=1).mean(axis=1)


# -- selection --------------------------------------------------------------------------------


def _select_model(d: pd.DataFrame, model: str | None) -> pd.DataFrame:
    return d if model is None else d[d["model"] == model]


def _row_keys(d: pd.DataFrame) -> list[tuple[str, str]]:
    keys = []
    for m in D.models(d):
        for i in D.order_intermediates(d.loc[d["model"] == m, "intermediate"].unique()):
            keys.append((m, i))
    return keys


def _seeds_note(cells: list[Cell]) -> list[str]:
    notes = []
    ns = sorted({c.n for c in cells if not c.empty})
    if ns and max(ns) <= 1:
        notes.append("One seed only: no std and no significance test.")
    elif ns and min(ns) <= 1:
        notes.append("Cells without ± come from a single (shared) seed and are not tested.")
    return notes


# -- the paper table --------------------------------------------------------------------------


def paper_table(
    df: pd.DataFrame, main_metric: Mapping[str, str] | None = None, *, model: str | None = None
) -> Table:
    """Rows: intermediate task (baseline first, absolute); columns: target task and ``Avg``.

    Cells: Δ vs the baseline of the same model on the target's ``avg`` language (clean; test split
    if present, else dev), mean ± std over seeds, ``*``/``**`` from a paired t-test over seeds.
    """
    d = _select_model(D.prepare(df), model)
    rows_all = D.task_rows(d)
    metrics = D.resolve_main_metrics(rows_all, main_metric)
    clean = rows_all[(rows_all["kind"] == "clean") & (rows_all["language"] == D.AVG)]
    tasks = [t for t in metrics if not clean[clean["task"] == t].empty]
    splits: dict[str, str] = {}
    series: dict[tuple[str, str, str], pd.Series] = {}
    for t in tasks:
        sel = clean[(clean["task"] == t) & (clean["metric"] == metrics[t])]
        splits[t] = D.pick_split(sel)
        sel = sel[sel["split"] == splits[t]]
        for (m, i), s in D.seed_series(sel, ["model", "intermediate"]).items():
            series[(m, i, t)] = s
    keys = _row_keys(clean[clean["task"].isin(tasks)])
    many = len({m for m, _ in keys}) > 1
    columns = [*tasks, AVG_COL]
    table = Table(
        name="paper" if model is None else f"paper_{_slug(model)}",
        title="Zero-shot cross-lingual transfer: Δ vs. baseline (avg. over non-English languages)"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=columns,
        higher_is_better=[True] * len(columns),
    )
    tested = False
    all_cells: list[Cell] = []
    missing_base = False
    for m, i in keys:
        per_task = [series.get((m, i, t)) for t in tasks]
        agg = _seedwise_mean(per_task) if len(tasks) > 1 else None
        if i == D.BASELINE:
            cells = [value_cell(s) for s in per_task] + [value_cell(agg)]
            for c in cells:
                c.rank = 0.0 if not c.empty else math.nan
            kind = "baseline"
        else:
            base = [series.get((m, D.BASELINE, t)) for t in tasks]
            base_agg = _seedwise_mean(base) if len(tasks) > 1 else None
            if all(b is None for b in base):
                missing_base = True
            cells = [delta_cell(x, b) for x, b in zip(per_task, base, strict=True)]
            cells.append(delta_cell(agg, base_agg))
            tested = tested or any(not math.isnan(c.p_value) for c in cells)
            kind = ""
        all_cells.extend(cells)
        table.rows.append(Row(D.row_label(m, i, many), cells, kind))
    table.mark_best()
    metric_desc = ", ".join(f"{t}: {metrics[t]} ({splits[t]})" for t in tasks)
    table.notes.append(
        "Baseline row: absolute score ×100 (no intermediate task); other rows: Δ in points vs. the "
        f"baseline, mean ± std over seeds. Metric (split) per target — {metric_desc}."
    )
    if len(tasks) > 1:
        table.notes.append(
            "Avg: unweighted mean over targets (XTREME-style), per seed, over seeds with every target."
        )
    if tested:
        table.notes.append("Paired t-test over seeds vs. the baseline: * p < 0.05, ** p < 0.01.")
    table.notes.extend(_seeds_note(all_cells))
    if any(c.note == UNPAIRED for c in all_cells):
        table.notes.append(
            f"{UNPAIRED} No seed shared with the baseline: Δ of the means ± the run's std, not tested."
        )
    if missing_base:
        table.notes.append("Rows with — have no baseline run of the same model to compare with.")
    if len(tasks) <= 1:
        table.columns = tasks
        table.higher_is_better = [True] * len(tasks)
        for r in table.rows:
            r.cells = r.cells[: len(tasks)]
    return table


def aggregate_table(
    df: pd.DataFrame, main_metric: Mapping[str, str] | None = None, *, model: str | None = None
) -> Table:
    """Intermediate tasks ranked by their aggregate Δ: how many targets improve, best and worst."""
    paper = paper_table(df, main_metric, model=model)
    agg_j = paper.columns.index(AVG_COL) if AVG_COL in paper.columns else None
    tasks = [c for c in paper.columns if c != AVG_COL]
    table = Table(
        name=paper.name.replace("paper", "aggregate", 1),
        title="Intermediate tasks ranked by average Δ over targets",
        corner="Intermediate task",
        columns=["Avg Δ", "Targets improved", "Best target", "Worst target"],
        higher_is_better=[True, True, True, True],
        text_columns=frozenset({2, 3}),
    )
    ranked = []
    for r in paper.rows:
        if r.kind == "baseline":
            continue
        task_cells = [(t, r.cells[paper.columns.index(t)]) for t in tasks]
        present = [(t, c) for t, c in task_cells if not c.empty]
        if not present:
            continue
        avg = r.cells[agg_j] if agg_j is not None else present[0][1]
        improved = sum(1 for _, c in present if c.mean > 0)
        best = max(present, key=lambda tc: tc[1].mean)
        worst = min(present, key=lambda tc: tc[1].mean)
        avg_cell = Cell(**{**avg.__dict__, "bold": False})
        cells = [
            avg_cell,
            Cell(text=f"{improved}/{len(present)}", rank=improved, mean=improved, n=len(present)),
            Cell(text=f"{best[0]} ({best[1].mean:+.1f})", mean=best[1].mean),
            Cell(text=f"{worst[0]} ({worst[1].mean:+.1f})", mean=worst[1].mean),
        ]
        ranked.append((avg.mean if not avg.empty else -math.inf, Row(r.label, cells)))
    ranked.sort(key=lambda x: -x[0])
    table.rows = [r for _, r in ranked]
    table.mark_best()
    table.notes.append("Δ in points vs. the baseline; * / ** as in the main table.")
    return table


# -- per language -----------------------------------------------------------------------------


def per_language_table(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
) -> Table:
    """Rows: intermediate task; columns: languages (en first, avg last); absolute mean ± std."""
    d = _select_model(D.prepare(df), model)
    rows_all = D.task_rows(d)
    metric = D.resolve_main_metrics(rows_all, main_metric).get(target, "accuracy")
    sel = rows_all[
        (rows_all["kind"] == "clean")
        & (rows_all["task"] == target)
        & (rows_all["metric"] == metric)
    ]
    split = D.pick_split(sel)
    sel = sel[sel["split"] == split]
    langs = D.order_languages(sel["language"].unique())
    series = D.seed_series(sel, ["model", "intermediate", "language"])
    keys = _row_keys(sel)
    many = len({m for m, _ in keys}) > 1
    scale, dec = D.scale_of(metric), D.decimals_of(metric)
    table = Table(
        name=f"per_language_{_slug(target)}" + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: {metric} ×100 per language ({split})" + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=langs,
        higher_is_better=[metric not in D.LOWER_IS_BETTER] * len(langs),
    )
    cells_all = []
    for m, i in keys:
        cells = [value_cell(series.get((m, i, lang)), scale, dec) for lang in langs]
        cells_all.extend(cells)
        table.rows.append(
            Row(D.row_label(m, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append("Mean ± std over seeds; best per language in bold.")
    if D.AVG in langs:
        table.notes.append("avg: mean over the non-English languages, computed on read.")
    table.notes.extend(_seeds_note(cells_all))
    return table


# -- robustness -------------------------------------------------------------------------------


def robustness_table(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
    gap: bool = False,
) -> Table:
    """Rows: baseline and each intermediate; columns: clean, each perturbation, each attack.

    Cells are mean ± std [95% t-interval] over seeds; the last column is the robustness gap
    (clean − mean perturbed score, per seed). With ``gap=True`` every perturbed cell is instead
    the gap for that perturbation (lower is better).
    """
    d = _select_model(D.prepare(df), model)
    rows_all = D.task_rows(d)
    metric = D.resolve_main_metrics(rows_all, main_metric).get(target, "accuracy")
    t = rows_all[rows_all["task"] == target]
    pert = t[t["kind"] == "perturbed"]
    att = t[(t["kind"] == "attack") & (t["metric"] == D.ATTACK_SCORE)]
    noisy = pd.concat([pert[pert["metric"] == metric], att])
    lang = language or _robust_language(noisy)
    scale, dec = D.scale_of(metric), D.decimals_of(metric)
    clean = t[(t["kind"] == "clean") & (t["metric"] == metric) & (t["language"] == lang)]
    noisy = noisy[noisy["language"] == lang]
    split = D.pick_split(noisy if not noisy.empty else clean)
    clean = clean[clean["split"] == split]
    noisy = noisy[noisy["split"] == split]
    perts = D.order_perturbations(noisy["perturbation"].unique())
    series = D.seed_series(pd.concat([clean, noisy]), ["model", "intermediate", "perturbation"])
    keys = _row_keys(pd.concat([clean, noisy]))
    many = len({m for m, _ in keys}) > 1
    labels = ["Clean", *[p for p in perts]]
    columns = (labels[1:] if gap else labels) + ["Gap"]
    table = Table(
        name=("robustness_gap_" if gap else "robustness_")
        + _slug(target)
        + (f"_{_slug(model)}" if model else ""),
        title=(
            f"{target}: robustness gap (clean − perturbed, points), language {lang} ({split})"
            if gap
            else f"{target}: {metric} ×100 under perturbations and attacks, language {lang} ({split})"
        )
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=columns,
        higher_is_better=([False] * len(perts) if gap else [True] * len(labels)) + [False],
    )
    cells_all = []
    for m, i in keys:
        c_s = series.get((m, i, D.CLEAN))
        p_s = [series.get((m, i, p)) for p in perts]
        gaps = [None if (c_s is None or s is None) else _paired_diff(c_s, s) for s in p_s]
        gap_s = _mean_gap(c_s, p_s)
        if gap:
            cells = [value_cell(g, scale, dec, ci=True) for g in gaps]
        else:
            cells = [value_cell(c_s, scale, dec, ci=True)]
            cells += [value_cell(s, scale, dec, ci=True) for s in p_s]
        cells.append(value_cell(gap_s, scale, dec, ci=True))
        cells_all.extend(cells)
        table.rows.append(
            Row(D.row_label(m, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append(
        "Mean ± std over seeds with the 95% t-interval [low, high] where there is more than one seed."
    )
    table.notes.append(
        "Gap: clean − perturbed score in points, per seed, averaged over the perturbations and "
        "attacks the run has (smaller is more robust)."
    )
    if any(p.startswith("attack:") for p in perts):
        table.notes.append(f"Attack columns show {D.ATTACK_SCORE} ×100.")
    table.notes.extend(_seeds_note(cells_all))
    return table


def _robust_language(noisy: pd.DataFrame) -> str:
    langs = set(noisy["language"].unique())
    for lang in (D.AVG, "en"):
        if lang in langs:
            return lang
    return sorted(langs)[0] if langs else D.AVG


def _paired_diff(a: pd.Series, b: pd.Series) -> pd.Series | None:
    common = a.index.intersection(b.index)
    return (a.loc[common] - b.loc[common]) if len(common) else None


def _mean_gap(clean: pd.Series | None, perturbed: list[pd.Series | None]) -> pd.Series | None:
    """Per seed: clean − mean over the perturbations that seed has."""
    if clean is None:
        return None
    out = {}
    for seed, c in clean.items():
        vals = [s.loc[seed] for s in perturbed if s is not None and seed in s.index]
        if vals:
            out[seed] = c - float(np.mean(vals))
    return pd.Series(out, dtype=float) if out else None


def attack_table(
    df: pd.DataFrame, target: str, *, model: str | None = None, language: str | None = None
) -> Table:
    """Per attack: accuracy under attack, success rate, queries and perturbed-token rate."""
    d = _select_model(D.prepare(df), model)
    t = D.task_rows(d)
    att = t[(t["task"] == target) & (t["kind"] == "attack")]
    lang = language or _robust_language(att)
    att = att[att["language"] == lang]
    split = D.pick_split(att)
    att = att[att["split"] == split]
    attacks = D.order_perturbations(att["perturbation"].unique())
    metrics = [m for m in D.ATTACK_METRICS if m in set(att["metric"])]
    short = {
        "accuracy_under_attack": "acc.",
        "attack_success_rate": "success",
        "avg_queries": "queries",
        "perturbation_rate": "perturbed",
    }
    cols = [(a, m) for a in attacks for m in metrics]
    series = D.seed_series(att, ["model", "intermediate", "perturbation", "metric"])
    keys = _row_keys(att)
    many = len({m for m, _ in keys}) > 1
    table = Table(
        name=f"attacks_{_slug(target)}" + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: adversarial attacks, language {lang} ({split})"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=[f"{a.removeprefix('attack:')} {short.get(m, m)}" for a, m in cols],
        higher_is_better=[m not in D.LOWER_IS_BETTER for _, m in cols],
    )
    for mo, i in keys:
        cells = [
            value_cell(series.get((mo, i, a, m)), D.scale_of(m), D.decimals_of(m)) for a, m in cols
        ]
        table.rows.append(
            Row(D.row_label(mo, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append(
        "acc.: accuracy under attack; success: attack success rate; perturbed: share of tokens "
        "changed (all ×100); queries: mean model queries per example. Mean ± std over seeds."
    )
    return table


PAIRED_METRICS = ("delta_vs_baseline", "delta_ci_low", "delta_ci_high", "mcnemar_p")


def paired_table(
    df: pd.DataFrame, target: str, *, model: str | None = None, language: str | None = None
) -> Table:
    """Intermediate task vs baseline on identical inputs, one row per (intermediate, seed).

    From the ``delta_vs_baseline`` / ``delta_ci_low`` / ``delta_ci_high`` / ``mcnemar_p`` rows of
    :func:`xstilts.evaluation.robustness.compare_models`: Δ accuracy ×100 with its paired-bootstrap
    interval, McNemar marks; columns clean, then each perturbation.
    """
    d = _select_model(D.prepare(df), model)
    t = d[(d["task"] == target) & d["metric"].isin(PAIRED_METRICS)]
    lang = language or _robust_language(t)
    t = t[t["language"] == lang]
    split = D.pick_split(t)
    t = t[t["split"] == split]
    perts = [D.CLEAN] if (t["perturbation"] == D.CLEAN).any() else []
    perts += [p for p in D.order_perturbations(t["perturbation"].unique()) if p != D.CLEAN]
    vals = t.groupby(["model", "intermediate", "seed", "perturbation", "metric"])["value"].mean()
    table = Table(
        name=f"paired_{_slug(target)}" + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: Δ accuracy vs. baseline on identical inputs, language {lang} ({split})"
        + (f" — {model}" if model else ""),
        corner="Intermediate task (seed)",
        columns=["Clean" if p == D.CLEAN else p for p in perts],
        higher_is_better=[True] * len(perts),
    )
    keys = sorted({(m, i, s) for m, i, s, _, _ in vals.index}, key=lambda k: (k[0], k[1], k[2]))
    many = len({k[0] for k in keys}) > 1
    for m, i, seed in keys:
        cells = []
        for p in perts:
            try:
                dv, lo, hi, pv = (
                    vals.loc[(m, i, seed, p, x)] * f
                    for x, f in zip(PAIRED_METRICS, (100, 100, 100, 1), strict=True)
                )
            except KeyError:
                cells.append(Cell())
                continue
            cells.append(
                Cell(
                    text=f"{dv:+.1f} [{lo:+.1f}, {hi:+.1f}]",
                    mark=significance_mark(pv),
                    rank=dv,
                    mean=dv,
                    n=1,
                    ci_low=lo,
                    ci_high=hi,
                    p_value=pv,
                )
            )
        table.rows.append(Row(f"{D.row_label(m, i, many)} (seed {seed})", cells))
    table.notes.append(
        "Δ: accuracy of the intermediate-task model minus the baseline's (same seed) ×100, "
        "example by example on the same inputs; [low, high]: 95% paired bootstrap interval; "
        "* / **: McNemar p < 0.05 / 0.01."
    )
    if lang == D.AVG:
        table.notes.append("avg: the examples of the non-English languages pooled.")
    return table


# -- alignment --------------------------------------------------------------------------------


def alignment_curves(df: pd.DataFrame, *, model: str | None = None) -> pd.DataFrame:
    """Alignment metric per layer and checkpoint: ``checkpoint, metric, layer, mean, std, n, baseline``.

    The language is ``avg`` where stored, else the mean over the stored languages (per seed).
    The checkpoint is ``extra['checkpoint']``, else the intermediate task's name.
    """
    d = _select_model(D.prepare(df), model)
    a = d[(d["kind"] == "alignment") & d["layer"].notna()].copy()
    cols = ["checkpoint", "metric", "layer", "mean", "std", "n"]
    if a.empty:
        return pd.DataFrame(columns=[*cols, "baseline"])
    many = a["model"].nunique() > 1
    a["checkpoint"] = [
        c or D.row_label(m, i, many)
        for c, m, i in zip(a["checkpoint"], a["model"], a["intermediate"], strict=True)
    ]
    out = []
    for (ck, met), g in a.groupby(["checkpoint", "metric"], sort=False):
        if (g["language"] == D.AVG).any():
            g = g[g["language"] == D.AVG]
        per_seed = g.groupby(["layer", "seed"])["value"].mean().groupby(level=0)
        for layer, s in per_seed:
            sm = summarize(s.to_numpy())
            out.append([ck, met, int(layer), sm.mean, sm.std, sm.n])
    res = pd.DataFrame(out, columns=cols)
    base = set(a.loc[a["intermediate"] == D.BASELINE, "checkpoint"])
    res["baseline"] = res["checkpoint"].isin(base)
    res = res.sort_values(
        ["metric", "baseline", "checkpoint", "layer"], ascending=[True, False, True, True]
    )
    return res.reset_index(drop=True)


def checkpoint_order(curves: pd.DataFrame) -> list[str]:
    """Checkpoints in plotting order: baseline checkpoints first (as ``alignment_curves`` sorts)."""
    return list(dict.fromkeys(curves["checkpoint"]))


def best_layers(curves: pd.DataFrame) -> pd.DataFrame:
    """The best layer per checkpoint and metric (max, or min for lower-is-better metrics)."""
    rows = []
    for (_ck, met), g in curves.groupby(["checkpoint", "metric"], sort=False):
        idx = g["mean"].idxmin() if met in D.LOWER_IS_BETTER else g["mean"].idxmax()
        rows.append(curves.loc[idx])
    return pd.DataFrame(rows, columns=curves.columns).reset_index(drop=True)


def alignment_table(df: pd.DataFrame, *, model: str | None = None) -> Table:
    """Rows: checkpoint; columns: alignment metric; cells: score at the best layer (and which)."""
    curves = alignment_curves(df, model=model)
    best = best_layers(curves)
    metrics = sorted(best["metric"].unique()) if not best.empty else []
    cks = checkpoint_order(curves)
    table = Table(
        name="alignment" + (f"_{_slug(model)}" if model else ""),
        title="Cross-lingual alignment: best layer per checkpoint"
        + (f" — {model}" if model else ""),
        corner="Checkpoint",
        columns=metrics,
        higher_is_better=[m not in D.LOWER_IS_BETTER for m in metrics],
    )
    for ck in cks:
        cells = []
        for met in metrics:
            r = best[(best["checkpoint"] == ck) & (best["metric"] == met)]
            if r.empty:
                cells.append(Cell())
                continue
            r = r.iloc[0]
            sc, dec = D.scale_of(met), D.decimals_of(met)
            mean, std = r["mean"] * sc, r["std"] * sc
            text = f"{mean:.{dec}f}" + (f" ± {std:.{dec}f}" if r["n"] > 1 else "")
            text += f" (L{int(r['layer'])})"
            cells.append(Cell(text=text, rank=mean, mean=mean, std=std, n=int(r["n"])))
        is_base = bool(curves.loc[curves["checkpoint"] == ck, "baseline"].any())
        table.rows.append(Row(ck, cells, "baseline" if is_base else ""))
    table.mark_best()
    table.notes.append(
        "Best layer (Lk) per checkpoint and metric; lang_id_acc: lower is better (more "
        "language-neutral). Scores ×100 except pair_margin; mean ± std over seeds."
    )
    return table


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s).strip("_") or "x"
