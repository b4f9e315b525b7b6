"""Effect sizes for studies: what intermediate training changes, with intervals.

An effect is a seed's mean over the non-English languages both set-ups were evaluated on, paired
with the baseline of the same seed, averaged over seeds. With per-item outcomes (saved
predictions, :func:`xstilts.stats.items.item_frame`) its interval is two-level: test items
(resampled by source row for parallel tasks) and seeds (:func:`xstilts.stats.two_level_interval`),
with the test of the same construction; the seed-only t-interval is kept as a secondary column.
Without them (attacks, alignment probes, a frame without predictions) the seed t-interval is the
interval and the table says so. Every table's p-values are corrected as one family (Holm unless
asked otherwise) and the table states its minimum detectable effect at 80% power. Breakdowns
regroup the same per-language rows by script and by resource class
(xstilts.evaluation.languages).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from xstilts.evaluation import aggregate as A
from xstilts.evaluation.languages import GROUPINGS
from xstilts.report import data as D
from xstilts.report.stats import correct_table, interval_cell, paired_pvalue, summarize
from xstilts.report.table import Cell, Row, Table
from xstilts.report.tables import _fmt, _select_model, _slug, stats_cell
from xstilts.stats.bounds import difference_bounds, level_bounds
from xstilts.stats.intervals import UNBOUNDED, seed_t_interval, two_level_interval
from xstilts.stats.power import min_detectable_effect

CLEAN_LABEL = "Clean"
SEED_ONLY = "‡"


def condition_rows(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    source_language: str = "en",
) -> tuple[pd.DataFrame, str]:
    """Per-language scores of ``target`` outside the training language, one row per
    (model, intermediate, seed, language, condition); the condition is ``none`` (clean), a
    perturbation label or an attack label (scored by accuracy under attack). ``reference`` is
    what a condition's gap is taken from on the same rows: the clean score (NaN here: the
    ``none`` rows) or, for an attack, the accuracy of its attacked rows before the attack."""
    d = _select_model(D.prepare(df), model)
    rows = D.task_rows(d)
    metric = D.resolve_main_metrics(rows, main_metric).get(target, "accuracy")
    t = rows[(rows["task"] == target) & (rows["language"] != source_language)]
    scored = t[t["kind"].isin(["clean", "perturbation"]) & (t["metric"] == metric)]
    att = t[(t["kind"] == "attack") & (t["metric"] == D.ATTACK_SCORE)]
    ident = ["model", "intermediate", "seed", "language", "split", "perturbation"]
    before = t[(t["kind"] == "attack") & (t["metric"] == D.ATTACK_CLEAN)]
    ref = before.groupby(ident)["value"].mean().rename("reference")
    att = att.join(ref, on=ident) if not att.empty else att.assign(reference=math.nan)
    f = pd.concat([scored.assign(reference=math.nan), att])
    if f.empty:
        return f, metric
    f = f[f["split"] == D.pick_split(f)]
    cols = ["model", "intermediate", "seed", "language", "perturbation", "kind", "params"]
    cols += ["value", "reference"]
    return f[cols].rename(columns={"perturbation": "condition"}), metric


def _setups(f: pd.DataFrame) -> list[tuple[str, str]]:
    keys = sorted({(m, i) for m, i in zip(f["model"], f["intermediate"], strict=True)})
    order = {n: k for k, n in enumerate(D.order_intermediates([i for _, i in keys]))}
    return sorted(keys, key=lambda k: (k[0], order.get(k[1], 99)))


def _conditions(f: pd.DataFrame) -> list[str]:
    return [D.CLEAN, *D.order_noise(f.rename(columns={"condition": "perturbation"}))]


def _per_seed_mean(f: pd.DataFrame, langs: set[str]) -> pd.Series:
    """Seed -> mean over ``langs`` (a seed missing one of them is dropped: equal footing)."""
    g = f[f["language"].isin(langs)]
    counts = g.groupby("seed")["language"].nunique()
    full = counts[counts == len(langs)].index
    return g[g["seed"].isin(full)].groupby("seed")["value"].mean()


def _common_languages(f: pd.DataFrame, cond: str, setups: list[tuple[str, str]]) -> set[str]:
    out: set[str] | None = None
    for m, i in setups:
        langs = set(f[(f["model"] == m) & (f["intermediate"] == i) & (f["condition"] == cond)][
            "language"
        ])  # fmt: skip
        out = langs if out is None else out & langs
    return out or set()


def _ci_cell(
    diff: pd.Series | None,
    p: float = math.nan,
    scale: float = 100.0,
    dec: int = 1,
    signed: bool = True,
    bounds: tuple[float, float] = UNBOUNDED,
) -> Cell:
    """``mean [low, high]`` of per-seed values (points; the seed t-interval inside ``bounds``),
    with the significance mark of ``p``; ``signed=False`` for a level (a gap, a similarity)."""
    if diff is None or len(diff) == 0:
        return Cell()
    sm = summarize(diff.to_numpy(dtype=float) * scale, bounds=bounds)
    text = _fmt(sm.mean, dec, signed)
    if sm.n > 1:
        text += f" [{_fmt(sm.ci_low, dec, signed)}, {_fmt(sm.ci_high, dec, signed)}]"
    cell = stats_cell(sm, text, p)
    cell.seed_ci_low, cell.seed_ci_high = sm.ci_low, sm.ci_high
    if sm.n > 1:
        cell.mde = min_detectable_effect(sm.std / math.sqrt(sm.n), sm.n - 1)
    return cell


def _paired(a: pd.Series | None, b: pd.Series | None) -> tuple[pd.Series | None, float]:
    if a is None or b is None:
        return None, math.nan
    common = a.index.intersection(b.index)
    if not len(common):
        return None, math.nan
    return a.loc[common] - b.loc[common], paired_pvalue(a, b)


def _item_values(
    items: pd.DataFrame | None,
    metric: str,
    split: str,
    m: str,
    i: str,
    c: str,
    langs: set[str],
) -> pd.DataFrame | None:
    """Seeds × items matrix of per-item scores of one set-up and condition (None if absent)."""
    if items is None or items.empty or not langs:
        return None
    sel = items[
        (items["model"] == m)
        & (items["intermediate"] == i)
        & (items["perturbation"] == c)
        & (items["metric"] == metric)
        & (items["split"] == split)
        & items["language"].isin(langs)
    ]
    if sel.empty or set(sel["language"]) != set(langs):
        return None
    return sel.pivot_table(index="seed", columns=["item"], values="value", aggfunc="mean")


def _clusters(items: pd.DataFrame) -> dict[str, str]:
    return dict(zip(items["item"], items["cluster"], strict=True))


def _two_level(
    x: pd.DataFrame | None, cluster_of: dict[str, str], scale: float, bounds: tuple[float, float]
):
    """Two-level interval of a seeds × items matrix (languages weighted equally), or None."""
    if x is None:
        return None
    x = x.dropna(axis=0, how="all").dropna(axis=1, how="any")
    if x.empty:
        return None
    cols = list(x.columns)
    lang = np.array([c.split("/", 1)[0] for c in cols])
    _, lcode, lcount = np.unique(lang, return_inverse=True, return_counts=True)
    weights = 1.0 / (len(lcount) * lcount[lcode])
    _, codes = np.unique([cluster_of[c] for c in cols], return_inverse=True)
    return two_level_interval(x.to_numpy(float) * scale, codes, weights, bounds=bounds)


def _sub(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame | None:
    if a is None or b is None:
        return None
    seeds = a.index.intersection(b.index)
    cols = a.columns.intersection(b.columns)
    if not len(seeds) or not len(cols):
        return None
    return a.loc[seeds, cols] - b.loc[seeds, cols]


def effect_tables(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    items: pd.DataFrame | None = None,
    correction: str = "holm",
) -> list[Table]:
    """Δ score and Δ robustness gap of each intermediate task against the baseline.

    Table 1, per condition: Δ = intermediate − baseline of the non-English mean score.
    Table 2, per perturbation/attack: Δ gap = gap(intermediate) − gap(baseline), gap = clean −
    perturbed on the same languages; negative means intermediate training made the model more
    robust (it loses less under that perturbation).
    Table 3: as table 2 for the relative gap (gap / clean score); seed-level intervals only.
    ``items``: per-item outcomes (:func:`xstilts.stats.items.item_frame`) for two-level intervals.
    """
    f, metric = condition_rows(df, target, main_metric, model=model)
    if f.empty or D.BASELINE not in set(f["intermediate"]):
        return []
    split = D.pick_split(D.task_rows(_select_model(D.prepare(df), model)).query("task == @target"))
    if items is not None and not items.empty:
        items = items[(items["task"] == target) & (items["metric"] == metric)]
        if model is not None:
            items = items[items["model"] == model]
    cluster_of = _clusters(items) if items is not None and not items.empty else {}
    setups = _setups(f)
    conds = _conditions(f)
    sfx = f"_{_slug(model)}" if model else ""
    many = len({m for m, _ in setups}) > 1
    labels = [CLEAN_LABEL if c == D.CLEAN else c for c in conds]
    scale = D.scale_of(metric)
    score = Table(
        name=f"effects_{_slug(target)}{sfx}",
        title=f"{target}: Δ {metric} vs. baseline (points, non-English mean) per condition"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=labels,
    )
    gap = Table(
        name=f"effects_gap_{_slug(target)}{sfx}",
        title=f"{target}: Δ robustness gap vs. baseline (points; negative = more robust)"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=labels[1:],
        higher_is_better=[False] * (len(labels) - 1),
    )
    means: dict[tuple[str, str, str], pd.Series] = {}
    lang_of: dict[str, set[str]] = {}
    for c in conds:
        langs = _common_languages(f, c, setups)
        lang_of[c] = langs
        for m, i in setups:
            sel = f[(f["model"] == m) & (f["intermediate"] == i) & (f["condition"] == c)]
            if langs:
                means[(m, i, c)] = _per_seed_mean(sel, langs)
    clean_langs = {c: _common_languages(f, c, setups) & _common_languages(f, D.CLEAN, setups)
                   for c in conds[1:]}  # fmt: skip

    def gap_series(m: str, i: str, c: str, relative: bool = False) -> pd.Series | None:
        langs = clean_langs[c]
        if not langs:
            return None
        sel = f[(f["model"] == m) & (f["intermediate"] == i)]
        noisy = sel[sel["condition"] == c]
        if noisy["kind"].eq("attack").any():  # the attacked rows before the attack
            cl = _per_seed_mean(
                noisy.assign(value=noisy["reference"]).dropna(subset=["value"]), langs
            )
        else:
            cl = _per_seed_mean(sel[sel["condition"] == D.CLEAN], langs)
        pe = _per_seed_mean(noisy, langs)
        common = cl.index.intersection(pe.index)
        if not len(common):
            return None
        g = cl.loc[common] - pe.loc[common]
        return g / cl.loc[common] if relative else g

    def item_gap(m: str, i: str, c: str) -> pd.DataFrame | None:
        langs = clean_langs[c]
        return _sub(
            _item_values(items, metric, split, m, i, D.CLEAN, langs),
            _item_values(items, metric, split, m, i, c, langs),
        )

    fallback = [False]

    def cell(
        diff: pd.Series | None,
        x: pd.DataFrame | None,
        bounds: tuple[float, float],
    ) -> Cell:
        if diff is None or len(diff) == 0:
            return Cell()
        seed_iv = seed_t_interval(diff.to_numpy(float) * scale, bounds=bounds)
        iv = _two_level(x, cluster_of, scale, bounds)
        if iv is None or abs(iv.estimate - seed_iv.estimate) > 1e-6 * max(1.0, scale):
            # no per-item outcomes (or not the items the rows were scored on): seed level only
            fallback[0] = True
            c = interval_cell(seed_iv, seed_iv)
            c.note = SEED_ONLY
            return c
        return interval_cell(iv, seed_iv)

    rel = Table(
        name=f"effects_relgap_{_slug(target)}{sfx}",
        title=f"{target}: Δ relative robustness gap vs. baseline (points of % lost; negative = "
        "more robust)" + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=labels[1:],
        higher_is_better=[False] * (len(labels) - 1),
    )
    d1 = difference_bounds(metric, scale)
    d2 = difference_bounds(metric, scale, terms=2)
    for m, i in setups:
        if i == D.BASELINE or (m, D.BASELINE) not in setups:
            continue
        rcells = []
        for c in conds[1:]:
            diff, p = _paired(gap_series(m, i, c, True), gap_series(m, D.BASELINE, c, True))
            rcells.append(_ci_cell(diff, p))
        rel.rows.append(Row(D.row_label(m, i, many), rcells))
        cells = []
        for c in conds:
            diff, _ = _paired(means.get((m, i, c)), means.get((m, D.BASELINE, c)))
            x = _sub(
                _item_values(items, metric, split, m, i, c, lang_of[c]),
                _item_values(items, metric, split, m, D.BASELINE, c, lang_of[c]),
            )
            cells.append(cell(diff, x, d1))
        score.rows.append(Row(D.row_label(m, i, many), cells))
        gcells = []
        for c in conds[1:]:
            diff, _ = _paired(gap_series(m, i, c), gap_series(m, D.BASELINE, c))
            gcells.append(cell(diff, _sub(item_gap(m, i, c), item_gap(m, D.BASELINE, c)), d2))
        gap.rows.append(Row(D.row_label(m, i, many), gcells))
    note = (
        "Per seed: mean over the non-English languages every set-up was evaluated on for that "
        "condition, paired with the baseline of the same seed; mean over seeds [95% two-level "
        "interval: test items, resampled by source row where the languages are translations of "
        "one another, and seeds; see docs/statistics.md]; the test (t with the interval's "
        "degrees of freedom) is the interval's; the seed-only t-interval is in the CSV "
        "(seed_ci_low, seed_ci_high)."
    )
    score.notes.append(note)
    gap.notes.append(note)
    gap.notes.append(
        "Gap = clean − perturbed score on the same languages and rows; for an attack, the "
        "accuracy of its attacked rows before the attack − under it."
    )
    if fallback[0]:
        for t in (score, gap):
            t.notes.append(
                f"{SEED_ONLY} No per-item outcomes (attacks, or predictions not saved): 95% "
                "t-interval and paired t-test over seeds only, which treat the test items as "
                "fixed."
            )
    rel.notes.append(
        "Per seed as above; mean [95% t-interval over seeds, items treated as fixed] of the "
        "paired difference; paired t-test over seeds."
    )
    rel.notes.append(
        "Relative gap = (clean − perturbed) / clean: the share of the clean score lost, which "
        "does not favour a model for having less to lose."
    )
    out = [t for t in (score, gap, rel) if not t.empty]
    for t in out:
        correct_table(t, correction)
    return out


def grouped_gap_table(
    df: pd.DataFrame,
    target: str,
    main_metric: Mapping[str, str] | None = None,
    *,
    by: str = "script",
    model: str | None = None,
    attacks: bool = False,
    items: pd.DataFrame | None = None,
) -> Table:
    """Robustness gap per language group (``script``, ``resource`` or ``language``), per set-up.

    Per seed and language: clean − mean over the perturbations evaluated on that language (or
    with ``attacks=True``: accuracy on the attacked rows before − under the attacks); then the
    mean over the group's languages; cells show mean [95% interval] and, in parentheses, the gap
    relative to the clean score. The interval is two-level (items by source row, and seeds) where
    ``items`` has the per-item outcomes, else the t-interval over seeds (marked ``‡``).
    """
    f, metric = condition_rows(df, target, main_metric, model=model)
    if f.empty:
        return Table(f"gap_by_{by}", "", "", [])
    split = D.pick_split(D.task_rows(_select_model(D.prepare(df), model)).query("task == @target"))
    if items is not None and not items.empty:
        items = items[(items["task"] == target) & (items["metric"] == metric)]
    cluster_of = _clusters(items) if items is not None and not items.empty else {}
    scale = D.scale_of(metric)
    bounds = difference_bounds(metric, scale)
    fallback = False
    pert = f[f["kind"] == ("attack" if attacks else "perturbation")]
    # attacks: the attacked rows before the attack; perturbations: the clean scores
    clean = pert.assign(value=pert["reference"]) if attacks else f[f["condition"] == D.CLEAN]
    clean = clean.dropna(subset=["value"])
    group: Callable[[str], str] = (lambda x: x) if by == "language" else GROUPINGS[by]
    keys = ["model", "intermediate", "seed", "language"]
    per = (
        clean.groupby(keys)["value"].mean().rename("clean").to_frame()
        .join(pert.groupby(keys)["value"].mean().rename("noisy"), how="inner")
        .reset_index()
    )  # fmt: skip
    if per.empty:
        return Table(f"gap_by_{by}", "", "", [])
    per["group"] = [group(x) for x in per["language"]]
    per["gap"] = per["clean"] - per["noisy"]
    groups = (
        D.order_languages(per["group"].unique())
        if by == "language"
        else sorted(per["group"].unique(), key=_group_order(by))
    )
    setups = _setups(per)
    many = len({m for m, _ in setups}) > 1
    what = "attacks (accuracy under attack)" if attacks else "perturbations"
    table = Table(
        name=f"gap_by_{by}{'_attack' if attacks else ''}_{_slug(target)}"
        + (f"_{_slug(model)}" if model else ""),
        title=f"{target}: robustness gap by {by} under {what} (points [95% interval], relative gap in parentheses)"
        + (f" — {model}" if model else ""),
        corner="Intermediate task",
        columns=[f"{g} ({_members(per, g)})" if by != "language" else g for g in groups],
        higher_is_better=[False] * len(groups),
    )
    for m, i in setups:
        cells = []
        for g in groups:
            sel = per[(per["model"] == m) & (per["intermediate"] == i) & (per["group"] == g)]
            if sel.empty:
                cells.append(Cell())
                continue
            by_seed = sel.groupby("seed")[["gap", "clean"]].mean()
            seed_iv = seed_t_interval(by_seed["gap"].to_numpy(float) * scale, bounds=bounds)
            x = _group_gap_items(items, pert, metric, split, m, i, sorted(set(sel["language"])))
            iv = _two_level(x, cluster_of, scale, bounds)
            if iv is None or abs(iv.estimate - seed_iv.estimate) > 1e-6 * max(1.0, scale):
                fallback = True
                c = interval_cell(seed_iv, seed_iv, signed=False)
                c.note = SEED_ONLY
            else:
                c = interval_cell(iv, seed_iv, signed=False)
            c.p_value = math.nan  # a level, not a test against 0
            c.mark = ""
            rel = float(np.mean(by_seed["gap"] / by_seed["clean"])) * 100
            c.text += f" ({rel:.0f}%)"
            cells.append(c)
        table.rows.append(
            Row(D.row_label(m, i, many), cells, "baseline" if i == D.BASELINE else "")
        )
    table.mark_best(skip_kinds=())
    table.notes.append(
        "Per seed and language: clean − perturbed score (mean over the "
        + ("attacks" if attacks else "perturbations")
        + " evaluated on that language), averaged over the group's languages; mean over seeds "
        "[95% two-level interval: test items by source row, and seeds; the seed-only t-interval "
        "in the CSV]; relative gap = gap / clean score. Bold: smallest gap per column."
    )
    if fallback:
        table.notes.append(
            f"{SEED_ONLY} No per-item outcomes (attacks, or predictions not saved): 95% t-interval "
            "over seeds only, which treats the test items as fixed."
        )
    if by == "resource":
        table.notes.append(
            "Resource classes of Joshi et al. (2020): 5 = best resourced, 0 = least."
        )
    return table


def _group_gap_items(
    items: pd.DataFrame | None,
    pert: pd.DataFrame,
    metric: str,
    split: str,
    m: str,
    i: str,
    langs: list[str],
) -> pd.DataFrame | None:
    """Seeds × items: clean − mean over the perturbations evaluated on each item's language."""
    parts = []
    for lang in langs:
        conds = sorted(
            set(
                pert[
                    (pert["model"] == m) & (pert["intermediate"] == i) & (pert["language"] == lang)
                ]["condition"]
            )
        )
        clean = _item_values(items, metric, split, m, i, D.CLEAN, {lang})
        noisy = [_item_values(items, metric, split, m, i, c, {lang}) for c in conds]
        if clean is None or not noisy or any(n is None for n in noisy):
            return None
        mean_noisy = sum(noisy[1:], noisy[0]) / len(noisy)  # aligned on seeds and items
        d = _sub(clean, mean_noisy)
        if d is None:
            return None
        parts.append(d)
    return pd.concat(parts, axis=1, join="inner") if parts else None


def _members(per: pd.DataFrame, g: str) -> str:
    return " ".join(D.order_languages(per.loc[per["group"] == g, "language"].unique()))


def _group_order(by: str) -> Callable[[str], tuple]:
    if by == "resource":
        return lambda g: (g == "other", -int(g.split()[-1]) if g != "other" else 0)
    return lambda g: (g == "other", g != "Latin", g)


# -- alignment ------------------------------------------------------------------------------

ALIGN_DELTA_METRICS = ("tatoeba_acc", "retrieval_acc", "pair_margin", "lang_id_acc", "bucc_f1")


def _align_rows(df: pd.DataFrame, model: str | None) -> pd.DataFrame:
    d = _select_model(D.prepare(df), model)
    a = d[d["kind"].isin(D.PROBE_KINDS) & d["layer"].notna()].copy()
    a["layer"] = a["layer"].astype(int)
    return a


def alignment_delta_table(
    df: pd.DataFrame,
    metric: str,
    task: str,
    *,
    model: str | None = None,
    reference: str = D.BASELINE,
) -> Table:
    """Per layer: Δ ``metric`` of each intermediate checkpoint against the pretrained encoder
    (the ``reference`` set-up) on the same inputs, clean and per perturbation; for ``cka`` the
    similarity to the pretrained encoder itself (1 = unchanged). Mean [95% t-interval] over seeds.
    """
    a = _align_rows(df, model)
    a = a[(a["metric"] == metric) & (a["task"] == task)]
    # per (set-up, perturbation, layer, seed): the mean over the languages every one of them has
    by = ["intermediate", "perturbation", "layer", "seed"]
    perts = _clean_first(a)
    langs = A.common_languages(a, by)
    a = A.language_mean(a, by, langs).rename("value").reset_index()
    sfx = f"_{_slug(model)}" if model else ""
    name = f"align_{_slug(metric)}_{_slug(task)}{sfx}"
    if a.empty:
        return Table(name, "", "", [])
    layers = sorted(a["layer"].unique())
    cka = metric == "cka"
    table = Table(
        name=name,
        title=(
            f"{task}: CKA with the pretrained encoder per layer (1 = unchanged)"
            if cka
            else f"{task}: Δ {metric} vs. the pretrained encoder per layer"
        )
        + (f" — {model}" if model else ""),
        corner="Checkpoint [perturbation]",
        columns=[f"L{x}" for x in layers],
        higher_is_better=[D.higher_is_better(metric)] * len(layers),
    )
    scale = D.scale_of(metric)
    dec = 3 if cka or scale == 1.0 else 1
    for inter in D.order_intermediates(a["intermediate"].unique()):
        if inter == reference and not cka:
            continue
        for pert in perts:
            mine = a[(a["intermediate"] == inter) & (a["perturbation"] == pert)]
            if mine.empty or (cka and inter == reference):
                continue
            ref = a[(a["intermediate"] == reference) & (a["perturbation"] == pert)]
            cells = []
            for layer in layers:
                s = mine[mine["layer"] == layer].groupby("seed")["value"].mean()
                if cka:
                    c = _ci_cell(s, scale=1.0, dec=dec, signed=False, bounds=level_bounds(metric))
                    cells.append(c)
                    continue
                r = ref[ref["layer"] == layer].groupby("seed")["value"].mean()
                if len(r) == 1 and len(s) > 1:  # one pretrained encoder for every seed
                    r = pd.Series(float(r.iloc[0]), index=s.index)
                diff, p = _paired(s, r)
                cells.append(
                    _ci_cell(diff, p, scale=scale, dec=dec, bounds=difference_bounds(metric, scale))
                )
            label = inter if pert == D.CLEAN else f"{inter} [{pert}]"
            table.rows.append(Row(label, cells))
    table.notes.append(
        "Mean [95% t-interval] over seeds; Δ is paired with the pretrained encoder's value on "
        "the same inputs (the pretrained encoder is the same for every seed, so the interval is "
        "the spread of the intermediate checkpoints); * p < 0.05, ** p < 0.01."
        + (" ×100." if scale == 100 and not cka else "")
    )
    return correct_table(table)


def _clean_first(rows: pd.DataFrame) -> list[str]:
    """Clean first (when present), then the perturbations in their order (from ``params``)."""
    return ([D.CLEAN] if (rows["perturbation"] == D.CLEAN).any() else []) + D.order_noise(rows)


def alignment_group_table(
    df: pd.DataFrame,
    metric: str,
    task: str,
    layer: int,
    *,
    by: str = "script",
    model: str | None = None,
    reference: str = D.BASELINE,
) -> Table:
    """Δ ``metric`` at one layer vs. the pretrained encoder, by language group (clean and per
    perturbation); mean [95% t-interval] over seeds of the per-seed group means."""
    a = _align_rows(df, model)
    a = a[(a["metric"] == metric) & (a["task"] == task) & (a["layer"] == layer)]
    a = a[a["language"] != "all"]
    name = f"align_{_slug(metric)}_{_slug(task)}_L{layer}_by_{by}" + (
        f"_{_slug(model)}" if model else ""
    )
    if a.empty:
        return Table(name, "", "", [])
    group: Callable[[str], str] = (lambda x: x) if by == "language" else GROUPINGS[by]
    a["group"] = [group(x) for x in a["language"]]
    groups = (
        D.order_languages(a["group"].unique())
        if by == "language"
        else sorted(a["group"].unique(), key=_group_order(by))
    )
    members = {g: " ".join(D.order_languages(a.loc[a["group"] == g, "language"].unique()))
               for g in groups}  # fmt: skip
    table = Table(
        name=name,
        title=f"{task}: Δ {metric} at layer {layer} vs. the pretrained encoder, by {by}"
        + (f" — {model}" if model else ""),
        corner="Checkpoint [perturbation]",
        columns=[g if by == "language" else f"{g} ({members[g]})" for g in groups],
    )
    scale = D.scale_of(metric)
    for inter in D.order_intermediates(a["intermediate"].unique()):
        if inter == reference:
            continue
        for pert in _clean_first(a):
            cells = []
            for g in groups:
                sel = a[(a["group"] == g) & (a["perturbation"] == pert)]
                s = sel[sel["intermediate"] == inter].groupby("seed")["value"].mean()
                r = sel[sel["intermediate"] == reference].groupby("seed")["value"].mean()
                if len(r) == 1 and len(s) > 1:
                    r = pd.Series(float(r.iloc[0]), index=s.index)
                diff, p = _paired(s, r)
                cells.append(
                    _ci_cell(diff, p, scale=scale, bounds=difference_bounds(metric, scale))
                )
            if any(not c.empty for c in cells):
                label = inter if pert == D.CLEAN else f"{inter} [{pert}]"
                table.rows.append(Row(label, cells))
    table.notes.append(
        "Per seed: mean over the group's languages of (checkpoint − pretrained); mean [95% "
        "t-interval] over seeds; paired t-test over seeds."
    )
    return correct_table(table)


def alignment_effects(df: pd.DataFrame, *, model: str | None = None) -> list[Table]:
    """Per input set: Δ per layer for each alignment metric (CKA as similarity), and the
    retrieval Δ at the last layer by script and by resource class."""
    a = _align_rows(df, model)
    if a.empty or D.BASELINE not in set(a["intermediate"]) or a["intermediate"].nunique() < 2:
        return []
    out: list[Table] = []
    for task in sorted(a["task"].unique()):
        metrics = set(a.loc[a["task"] == task, "metric"])
        for metric in (*ALIGN_DELTA_METRICS, "cka"):
            if metric in metrics:
                t = alignment_delta_table(df, metric, task, model=model)
                if not t.empty:
                    out.append(t)
        retrieval = next((m for m in ("tatoeba_acc", "retrieval_acc") if m in metrics), None)
        if retrieval:
            last = int(a.loc[(a["task"] == task) & (a["metric"] == retrieval), "layer"].max())
            for by in ("script", "resource"):
                t = alignment_group_table(df, retrieval, task, last, by=by, model=model)
                if not t.empty and len(t.columns) > 1:
                    out.append(t)
    return out
