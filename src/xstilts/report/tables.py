"""The report's tables, built from the results frame (pure: DataFrame in, :class:`Table` out).

``paper_table`` is the layout of Phang et al. (2020): one row per intermediate task, one column per
target task, Δ against the no-intermediate baseline on a language average.

Every average is computed here, on read, with :mod:`xstilts.evaluation.aggregate`: over the
languages the average declares (the benchmark's official list, English included; or the same
without the training language) that every row and seed of the table has, so the two sides of any
Δ, gap or model comparison cover the same languages and rows. The table's notes name them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from xstilts.evaluation import aggregate as A
from xstilts.report import data as D
from xstilts.report.stats import Summary, paired_pvalue, significance_mark, summarize
from xstilts.report.table import Cell, Row, Table
from xstilts.stats.bounds import difference_bounds, level_bounds

UNPAIRED = "†"
AVG_COL = "Avg"


# -- cell builders ----------------------------------------------------------------------------


def _fmt(x: float, dec: int, signed: bool = False) -> str:
    return f"{x:+.{dec}f}" if signed else f"{x:.{dec}f}"


def value_cell(
    s: pd.Series | None,
    scale: float = 100.0,
    dec: int = 1,
    ci: bool = False,
    signed: bool = False,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Cell:
    """Mean ± std over seeds (± omitted with one seed); ``ci`` adds the 95% t-interval, kept
    inside ``bounds`` (the quantity's range, display units)."""
    if s is None or len(s) == 0:
        return Cell()
    sm: Summary = summarize(s.to_numpy(dtype=float) * scale, bounds=bounds)
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
    x: pd.Series | None,
    base: pd.Series | None,
    scale: float = 100.0,
    dec: int = 1,
    bounds: tuple[float, float] = (-math.inf, math.inf),
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
        sm = summarize(d, bounds=bounds)
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


GROUP = ["model", "intermediate", "seed"]


def footing(rows: pd.DataFrame, task: str, *, source: bool = True) -> tuple[list[str], str]:
    """The languages an average of ``task`` over ``rows`` uses and a note naming them.

    The declared languages (``source=False``: without the training language) that every
    (model, set-up, seed) of ``rows`` has; an unregistered task declares the languages present.
    """
    declared = A.declared_averages(task)
    if declared:
        avg = declared[0] if source or len(declared) == 1 else declared[1]
        langs = set(avg.languages)
        what = f"{avg.name} ({len(avg.languages)} declared languages)"
    else:
        langs = set(rows["language"])
        if not source:
            langs.discard("en")
        what = "avg"
    have = sorted(langs & A.common_languages(rows, GROUP))
    note = f"{task}: {what} over {len(have)} language{'s' * (len(have) != 1)} every row has: " + (
        " ".join(D.order_languages(have)) or "none"
    )
    return D.order_languages(have), note


def averaged(rows: pd.DataFrame, languages: list[str], by: list[str]) -> dict[tuple, pd.Series]:
    """``{key of by: Series(seed -> mean over languages)}``; a seed missing one is left out."""
    means = A.language_mean(rows, [*by, "seed"], languages)
    if means.empty:
        return {}
    out: dict[tuple, pd.Series] = {}
    for key, s in means.groupby(level=list(range(len(by)))):
        k = key if isinstance(key, tuple) else (key,)
        out[k] = s.droplevel(list(range(len(by))))
    return out


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
    df: pd.DataFrame,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    source: bool = True,
) -> Table:
    """Rows: intermediate task (baseline first, absolute); columns: target task and ``Avg``.

    Cells: Δ vs the baseline of the same model on the target's language average (clean; test split
    if present, else dev), mean ± std over seeds, ``*``/``**`` from a paired t-test over seeds.
    The average is over the target's declared languages every row has, English included
    (``source=False``: the non-English average, a second table).
    """
    d = _select_model(D.prepare(df), model)
    rows_all = D.task_rows(d)
    metrics = D.resolve_main_metrics(rows_all, main_metric)
    clean = rows_all[rows_all["kind"] == "clean"]
    tasks = [t for t in metrics if not clean[clean["task"] == t].empty]
    splits: dict[str, str] = {}
    series: dict[tuple[str, str, str], pd.Series] = {}
    feet: list[str] = []
    for t in tasks:
        sel = clean[(clean["task"] == t) & (clean["metric"] == metrics[t])]
        splits[t] = D.pick_split(sel)
        sel = sel[sel["split"] == splits[t]]
        langs, note = footing(sel, t, source=source)
        feet.append(note)
        for (m, i), s in averaged(sel, langs, ["model", "intermediate"]).items():
            series[(m, i, t)] = s
    tasks = [t for t in tasks if any(k[2] == t for k in series)]
    keys = _row_keys(clean[clean["task"].isin(tasks)])
    many = len({m for m, _ in keys}) > 1
    columns = [*tasks, AVG_COL]
    which = "all languages" if source else "non-English languages"
    table = Table(
        name=("paper" if source else "paper_non_en")
        + ("" if model is None else f"_{_slug(model)}"),
        title=f"Zero-shot cross-lingual transfer: Δ vs. baseline (avg. over {which})"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=columns,
        higher_is_better=[D.higher_is_better(metrics[t]) for t in tasks] + [True],
    )
    tested = False
    all_cells: list[Cell] = []
    missing_base = False
    for m, i in keys:
        per_task = [series.get((m, i, t)) for t in tasks]
        agg = _seedwise_mean(per_task) if len(tasks) > 1 else None
        if i == D.BASELINE:
            lbs = [level_bounds(metrics[t], D.scale_of(metrics[t])) for t in tasks]
            cells = [
                value_cell(s, D.scale_of(metrics[t]), bounds=b)
                for s, t, b in zip(per_task, tasks, lbs, strict=True)
            ]
            cells.append(value_cell(agg, bounds=(min(b[0] for b in lbs), max(b[1] for b in lbs))))
            for c in cells:
                c.rank = 0.0 if not c.empty else math.nan
            kind = "baseline"
        else:
            base = [series.get((m, D.BASELINE, t)) for t in tasks]
            base_agg = _seedwise_mean(base) if len(tasks) > 1 else None
            if all(b is None for b in base):
                missing_base = True
            cells = [
                delta_cell(
                    x,
                    b,
                    D.scale_of(metrics[t]),
                    bounds=difference_bounds(metrics[t], D.scale_of(metrics[t])),
                )
                for x, b, t in zip(per_task, base, tasks, strict=True)
            ]
            cells.append(delta_cell(agg, base_agg))
            tested = tested or any(not math.isnan(c.p_value) for c in cells)
            kind = ""
        all_cells.extend(cells)
        table.rows.append(Row(D.row_label(m, i, many), cells, kind))
    table.mark_best()
    metric_desc = ", ".join(f"{t}: {metrics[t]} ({splits[t]})" for t in tasks)
    table.notes.extend(f"Languages — {f}." for f in feet)
    table.notes.append(
        "Baseline row: absolute score ×100 (no intermediate task); other rows: Δ in points vs. the "
        f"baseline, mean ± std over seeds. Metric (split) per target — {metric_desc}."
    )
    if len(tasks) > 1:
        table.notes.append(
            "Avg: unweighted mean over targets (XTREME-style), per seed, over seeds with every target."
        )
    if tested:
        table.notes.append("Paired t-test over seeds vs. the baseline.")
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
    """Rows: intermediate task; columns: languages (en first), then the declared averages (all
    languages; without the training language) over the languages every row has; mean ± std."""
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
    averages: list[tuple[str, list[str], str]] = []
    for source in (True, False):
        flangs, note = footing(sel, target, source=source)
        name = D.AVG if source else "avg non-en"
        if flangs and not any(a[1] == flangs for a in averages):
            averages.append((name, flangs, note))
    for name, flangs, _ in averages:
        for (m, i), s in averaged(sel, flangs, ["model", "intermediate"]).items():
            series[(m, i, name)] = s
    columns = [*langs, *(a[0] for a in averages)]
    keys = _row_keys(sel)
    many = len({m for m, _ in keys}) > 1
    scale, dec = D.scale_of(metric), D.decimals_of(metric)
    table = Table(
        name=f"per_language_{_slug(target)}" + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: {metric} ×100 per language ({split})" + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=columns,
        higher_is_better=[D.higher_is_better(metric)] * len(columns),
    )
    cells_all = []
    for m, i in keys:
        lb = level_bounds(metric, scale)
        cells = [value_cell(series.get((m, i, col)), scale, dec, bounds=lb) for col in columns]
        cells_all.extend(cells)
        table.rows.append(
            Row(D.row_label(m, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append("Mean ± std over seeds; best per language in bold.")
    table.notes.extend(f"{name}: {note}." for name, _, note in averages)
    table.notes.extend(_seeds_note(cells_all))
    return table


# -- robustness -------------------------------------------------------------------------------


@dataclass
class Footing:
    """Noise columns compared with one clean column over the same languages (and rows)."""

    kind: str  # "perturbation" or "attack"
    languages: list[str]
    labels: list[str]


def _same_rows(clean: pd.DataFrame, noisy: pd.DataFrame) -> set[str]:
    """Languages whose clean and noisy rows scored the same number of examples everywhere they
    both say how many (``extra.n``): a language where they differ is not compared."""

    def sizes(rows: pd.DataFrame) -> dict[tuple, set]:
        out: dict[tuple, set] = {}
        for key, x in zip(
            zip(rows["model"], rows["intermediate"], rows["seed"], rows["language"], strict=True),
            rows["extra"],
            strict=True,
        ):
            if isinstance(x, dict) and x.get("n") is not None:
                out.setdefault(key, set()).add(int(x["n"]))
        return out

    a, b = sizes(clean), sizes(noisy)
    bad = {k[3] for k in a.keys() & b.keys() if a[k] != b[k]}
    return set(noisy["language"]) - bad


def footings(
    t: pd.DataFrame, metric: str, kind: str, language: str | None = None
) -> tuple[list[Footing], str]:
    """Group the perturbations (or attacks) of a target's rows by the languages they can be
    compared on with their clean reference: languages every (model, set-up, seed) has both
    clean and under that noise, on the same rows. Returns the groups and the split used."""
    noisy = t[
        (t["kind"] == kind) & (t["metric"] == (metric if kind != "attack" else D.ATTACK_SCORE))
    ]
    if language is not None:
        noisy = noisy[noisy["language"] == language]
    split = D.pick_split(noisy)
    noisy = noisy[noisy["split"] == split]
    clean = _clean_reference(t, metric, kind, split)
    groups: dict[tuple[str, ...], list[str]] = {}
    for label in D.order_noise(noisy):
        mine = noisy[noisy["perturbation"] == label]
        ref = clean if kind != "attack" else clean[clean["perturbation"] == label]
        both = pd.concat([mine, ref])
        langs = A.common_languages(mine, GROUP) & A.common_languages(ref, GROUP)
        langs &= _same_rows(ref, mine) & A.common_languages(both, GROUP)
        if langs:
            groups.setdefault(tuple(D.order_languages(langs)), []).append(label)
    return [Footing(kind, list(k), v) for k, v in groups.items()], split


def _clean_reference(t: pd.DataFrame, metric: str, kind: str, split: str) -> pd.DataFrame:
    """What noise is compared with: the clean scores (perturbations) or each attack's own
    accuracy on the attacked rows before the attack (attacks)."""
    if kind == "attack":
        c = t[(t["kind"] == "attack") & (t["metric"] == D.ATTACK_CLEAN)]
    else:
        c = t[(t["kind"] == "clean") & (t["metric"] == metric)]
    return c[c["split"] == split]


def robustness_tables(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
    gap: bool = False,
) -> list[Table]:
    """One table per footing: random perturbations, then attacks, never in one average.

    Rows: baseline and each intermediate; columns: clean, each perturbation (or attack), and the
    gap (clean − mean noisy score, per seed). Every column of a table averages the same languages
    and rows: a perturbation limited to some languages is compared with the clean score on those
    languages only; an attack with the accuracy of its own attacked rows before the attack.
    With ``gap=True`` each noisy cell is instead the gap for that column (lower is better).
    """
    d = _select_model(D.prepare(df), model)
    rows_all = D.task_rows(d)
    metric = D.resolve_main_metrics(rows_all, main_metric).get(target, "accuracy")
    t = rows_all[rows_all["task"] == target]
    out: list[Table] = []
    for kind in D.NOISE_KINDS:
        feet, split = footings(t, metric, kind, language)
        for k, foot in enumerate(feet):
            sfx = "" if len(feet) == 1 else f"_{k + 1}"
            out.append(_robustness(t, target, metric, kind, foot, split, model, gap, sfx))
    return out


def robustness_table(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
    gap: bool = False,
) -> Table:
    """The first robustness table (the random perturbations when there are any)."""
    tables = robustness_tables(df, target, main_metric, model=model, language=language, gap=gap)
    return tables[0] if tables else Table(f"robustness_{_slug(target)}", "", "", [])


def _robustness(
    t: pd.DataFrame,
    target: str,
    metric: str,
    kind: str,
    foot: Footing,
    split: str,
    model: str | None,
    gap: bool,
    sfx: str,
) -> Table:
    attack = kind == "attack"
    score = D.ATTACK_SCORE if attack else metric
    noisy = t[(t["kind"] == kind) & (t["metric"] == score) & (t["split"] == split)]
    noisy = noisy[noisy["perturbation"].isin(foot.labels)]
    clean = _clean_reference(t, metric, kind, split)
    if attack:
        clean = clean[clean["perturbation"].isin(foot.labels)]
    by = ["model", "intermediate", "perturbation"]
    series = averaged(noisy, foot.languages, by)
    refs = averaged(clean, foot.languages, by)  # attacks: one clean reference per attack
    keys = _row_keys(pd.concat([clean, noisy]))
    many = len({m for m, _ in keys}) > 1
    scale, dec = D.scale_of(metric), D.decimals_of(metric)
    clean_col = "Clean (attacked rows)" if attack else "Clean"
    gap_col = "Attack gap" if attack else "Noise gap"
    labels = [clean_col, *foot.labels]
    columns = (labels[1:] if gap else labels) + [gap_col]
    params = D.noise_params(noisy)
    base = "robustness_attack" if attack else "robustness"
    what = "attacks (accuracy under attack)" if attack else "random perturbations"
    langs = " ".join(foot.languages)
    table = Table(
        name=(f"{base}_gap_" if gap else f"{base}_")
        + _slug(target)
        + sfx
        + (f"_{_slug(model)}" if model else ""),
        title=(
            f"{target}: robustness gap under {what} (clean − noisy, points), {split}"
            if gap
            else f"{target}: {metric} ×100 under {what}, {split}"
        )
        + f"; languages {langs}"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=columns,
        higher_is_better=([False] * len(foot.labels) if gap else [True] * len(labels)) + [False],
        column_params=([] if gap else [{}]) + [params.get(x, {}) for x in foot.labels] + [{}],
    )
    cells_all = []
    for m, i in keys:
        c_each = [refs.get((m, i, D.CLEAN if not attack else x)) for x in foot.labels]
        p_s = [series.get((m, i, x)) for x in foot.labels]
        gaps = [
            None if (c is None or s is None) else _paired_diff(c, s)
            for c, s in zip(c_each, p_s, strict=True)
        ]
        gap_s = (
            _seedwise_mean([g for g in gaps if g is not None])
            if any(g is not None for g in gaps)
            else None
        )
        lb, db = level_bounds(metric, scale), difference_bounds(metric, scale)
        if gap:
            cells = [value_cell(g, scale, dec, ci=True, bounds=db) for g in gaps]
        else:
            c_s = (
                _seedwise_mean([c for c in c_each if c is not None])
                if any(c is not None for c in c_each)
                else None
            )
            cells = [value_cell(c_s, scale, dec, ci=True, bounds=lb)]
            cells += [value_cell(s, scale, dec, ci=True, bounds=lb) for s in p_s]
        cells.append(value_cell(gap_s, scale, dec, ci=True, bounds=db))
        cells_all.extend(cells)
        table.rows.append(
            Row(D.row_label(m, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append(
        "Mean ± std over seeds with the 95% t-interval [low, high] where there is more than one seed."
    )
    table.notes.append(
        f"Every column averages the same {len(foot.languages)} language"
        f"{'s' * (len(foot.languages) != 1)} ({langs}) and the same rows, per seed."
    )
    if attack:
        table.notes.append(
            f"{clean_col}: accuracy on the rows each attack attacked, before the attack; "
            f"{gap_col}: that accuracy − accuracy under attack, per seed, averaged over the "
            "attacks (smaller is more robust). Attacks are never averaged with random noise."
        )
    else:
        table.notes.append(
            f"{gap_col}: clean − perturbed score in points, per seed, averaged over the random "
            "perturbations (smaller is more robust); attacks have their own table."
        )
    table.notes.extend(_seeds_note(cells_all))
    return table


def _paired_diff(a: pd.Series, b: pd.Series) -> pd.Series | None:
    common = a.index.intersection(b.index)
    return (a.loc[common] - b.loc[common]) if len(common) else None


def attack_table(
    df: pd.DataFrame, target: str, *, model: str | None = None, language: str | None = None
) -> Table:
    """Per attack: accuracy under attack, success rate, queries and perturbed-token rate, each
    averaged over the languages every attack and set-up has."""
    d = _select_model(D.prepare(df), model)
    t = D.task_rows(d)
    att = t[(t["task"] == target) & (t["kind"] == "attack")]
    if language is not None:
        att = att[att["language"] == language]
    split = D.pick_split(att)
    att = att[att["split"] == split]
    attacks = D.order_noise(att)
    order = (D.ATTACK_SCORE, "attack_success_rate", "avg_queries", "perturbation_rate")
    present = set(att["metric"])
    metrics = [m for m in order if m in present]
    head = att[att["metric"] == D.ATTACK_SCORE]
    langs = sorted(A.common_languages(head, [*GROUP, "perturbation"])) if not head.empty else []
    short = {
        "accuracy_under_attack": "acc.",
        "attack_success_rate": "success",
        "avg_queries": "queries",
        "perturbation_rate": "perturbed",
    }
    cols = [(a, m) for a in attacks for m in metrics]
    series = averaged(att, langs, ["model", "intermediate", "perturbation", "metric"])
    keys = _row_keys(att)
    many = len({m for m, _ in keys}) > 1
    params = D.noise_params(att)
    table = Table(
        name=f"attacks_{_slug(target)}" + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: adversarial attacks, languages {' '.join(D.order_languages(langs))} "
        f"({split})" + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=[f"{a} {short.get(m, m)}" for a, m in cols],
        higher_is_better=[D.higher_is_better(m) for _, m in cols],
        column_params=[params.get(a, {}) for a, _ in cols],
    )
    for mo, i in keys:
        cells = [
            value_cell(
                series.get((mo, i, a, m)),
                D.scale_of(m),
                D.decimals_of(m),
                bounds=level_bounds(m, D.scale_of(m)),
            )
            for a, m in cols
        ]
        table.rows.append(
            Row(D.row_label(mo, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best()
    table.notes.append(
        "acc.: accuracy under attack; success: attack success rate; perturbed: share of tokens "
        "changed (all ×100); queries: mean model queries per example. Mean ± std over seeds of "
        "the mean over the languages listed (every attack and set-up has them)."
    )
    return table


POOLED = "all"  # comparison rows over every compared language's examples pooled
PAIRED_METRICS = ("delta_vs_baseline", "delta_ci_low", "delta_ci_high", "paired_p")


def paired_table(
    df: pd.DataFrame, target: str, *, model: str | None = None, language: str | None = None
) -> Table:
    """Intermediate task vs baseline on identical inputs, one row per (intermediate, seed).

    From the ``delta_vs_baseline`` / ``delta_ci_low`` / ``delta_ci_high`` / ``mcnemar_p`` rows of
    :func:`xstilts.evaluation.robustness.compare_models`: Δ accuracy ×100 with its paired-bootstrap
    interval and paired permutation p (clustered by source row for ``all`` of parallel tasks);
    columns clean, then each perturbation.
    """
    d = _select_model(D.prepare(df), model)
    t = d[(d["task"] == target) & (d["kind"] == "comparison") & d["metric"].isin(PAIRED_METRICS)]
    lang = language or (
        POOLED if (t["language"] == POOLED).any() else min(t["language"], default=POOLED)
    )
    t = t[t["language"] == lang]
    split = D.pick_split(t)
    t = t[t["split"] == split]
    perts = [D.CLEAN] if (t["perturbation"] == D.CLEAN).any() else []
    perts += D.order_noise(t)
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
        "p: paired permutation test (both resample source rows, all languages of a row "
        "together, where the languages are translations of one another). One seed per row: "
        "the interval is about these test items only, not about another training run."
    )
    if lang == POOLED:
        langs = sorted({x for e in t["extra"] for x in e.get("languages", [])})
        table.notes.append(
            f"{POOLED}: the examples of every compared language pooled ({' '.join(langs)})."
        )
    return table


# -- alignment --------------------------------------------------------------------------------


def alignment_curves(df: pd.DataFrame, *, model: str | None = None) -> pd.DataFrame:
    """Alignment metric per layer and checkpoint: ``checkpoint, metric, layer, mean, std, n, baseline``.

    Per seed, the mean over the languages every checkpoint, layer and seed of that metric has
    (computed here; stored averages are not read). The checkpoint is ``extra['checkpoint']``,
    else the intermediate task's name.
    """
    d = _select_model(D.prepare(df), model)
    a = d[d["kind"].isin(D.PROBE_KINDS) & d["layer"].notna()].copy()
    cols = ["checkpoint", "metric", "layer", "mean", "std", "n"]
    if a.empty:
        return pd.DataFrame(columns=[*cols, "baseline"])
    many = a["model"].nunique() > 1
    a["checkpoint"] = [
        c or D.row_label(m, i, many)
        for c, m, i in zip(a["checkpoint"], a["model"], a["intermediate"], strict=True)
    ]
    out = []
    langs = {
        met: A.common_languages(g, ["checkpoint", "layer", "seed"])
        for met, g in a.groupby("metric", sort=False)
    }
    for (ck, met), g in a.groupby(["checkpoint", "metric"], sort=False):
        means = A.language_mean(g, ["layer", "seed"], langs[met])
        if means.empty:
            continue
        for layer, s in means.groupby(level=0):
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
        idx = g["mean"].idxmax() if D.higher_is_better(met) else g["mean"].idxmin()
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
        higher_is_better=[D.higher_is_better(m) for m in metrics],
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
        "Best layer (Lk) per checkpoint and metric, in the direction each metric declares "
        "(lang_id_acc: lower is more language-neutral); scaled as each metric declares "
        "(fractions ×100); mean ± std over seeds."
    )
    return table


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s).strip("_") or "x"
