"""Statistics of report cells: seed summaries, effect cells, per-table corrections and power.

The computations live in :mod:`xstilts.stats`; this module turns them into table cells and notes,
kept apart from the tables so the numbers a reader sees can be checked by hand in tests.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xstilts.report.table import MISSING, Cell, Row, Table
from xstilts.stats.intervals import UNBOUNDED, Interval, seed_t_interval
from xstilts.stats.multiple import CORRECTIONS, adjust_pvalues
from xstilts.stats.power import min_detectable_effect

ALPHA = 0.05


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with its spread; ``std``/CI are NaN with fewer than two seeds."""

    mean: float
    std: float
    n: int
    ci_low: float = math.nan
    ci_high: float = math.nan


def summarize(
    values: pd.Series | np.ndarray | list[float],
    ci: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
) -> Summary:
    """Mean, sample std (ddof=1) and a two-sided t-interval for the mean, inside ``bounds``."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    n = int(arr.size)
    if n == 0:
        return Summary(math.nan, math.nan, 0)
    mean = float(arr.mean())
    if n < 2:
        return Summary(mean, math.nan, n)
    iv = seed_t_interval(arr, confidence=ci, bounds=bounds)
    return Summary(mean, float(arr.std(ddof=1)), n, iv.low, iv.high)


def paired_pvalue(treated: pd.Series, base: pd.Series) -> float:
    """Two-sided paired t-test p over the seeds both have; NaN when it cannot be tested.

    Fewer than two shared seeds, or differences with no variance (t undefined), give NaN: the
    report then prints no mark rather than a spurious one.
    """
    common = treated.index.intersection(base.index)
    if len(common) < 2:
        return math.nan
    a = treated.loc[common].to_numpy(dtype=float)
    b = base.loc[common].to_numpy(dtype=float)
    d = a - b
    if float(np.std(d)) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        return math.nan
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = float(stats.ttest_rel(a, b).pvalue)
    return p


def significance_mark(p: float) -> str:
    """``**`` for p<0.01, ``*`` for p<0.05, else nothing."""
    if p is None or math.isnan(p):
        return ""
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""


def _fmt(x: float, dec: int, signed: bool) -> str:
    return f"{x:+.{dec}f}" if signed else f"{x:.{dec}f}"


def interval_cell(
    iv: Interval, seed_iv: Interval | None = None, *, dec: int = 1, signed: bool = True
) -> Cell:
    """``mean [low, high]`` of ``iv`` (the primary interval) carrying its p-value and minimum
    detectable effect; ``seed_iv`` (the seed-only t-interval) goes to the secondary columns."""
    if math.isnan(iv.estimate):
        return Cell()
    text = _fmt(iv.estimate, dec, signed)
    if not (math.isnan(iv.low) or math.isnan(iv.high)):
        text += f" [{_fmt(iv.low, dec, signed)}, {_fmt(iv.high, dec, signed)}]"
    seed_iv = seed_iv or iv
    std = seed_iv.se * math.sqrt(seed_iv.n_seeds) if seed_iv.n_seeds > 1 else math.nan
    return Cell(
        text=text,
        mark=significance_mark(iv.p_value),
        rank=iv.estimate,
        mean=iv.estimate,
        std=std,
        n=iv.n_seeds or seed_iv.n_seeds,
        ci_low=iv.low,
        ci_high=iv.high,
        p_value=iv.p_value,
        seed_ci_low=seed_iv.low,
        seed_ci_high=seed_iv.high,
        mde=min_detectable_effect(iv.se, iv.df, alpha=ALPHA),
    )


def correct_table(table: Table, method: str = "holm") -> Table:
    """Adjust the p-values of ``table`` as one family and set the marks from the adjusted p.

    Idempotent (always from the raw ``p_value``); a table without p-values is left alone. The
    note says which correction over how many tests, so a reader never sees an uncorrected mark.
    """
    cells = [c for r in table.rows for c in r.cells if not math.isnan(c.p_value)]
    if not cells:
        return table
    if method not in CORRECTIONS:
        from xstilts.errors import ConfigError

        raise ConfigError(
            f"unknown correction {method!r}; use {', '.join(CORRECTIONS)}", where="correction"
        )
    adj = adjust_pvalues([c.p_value for c in cells], method)  # type: ignore[arg-type]
    for c, q in zip(cells, adj, strict=True):
        c.p_adjusted = float(q)
        c.mark = significance_mark(c.p_adjusted)
    table.notes = [n for n in table.notes if not n.startswith(_CORR_NOTE)]
    table.notes.append(
        f"{_CORR_NOTE} {CORRECTIONS[method]} over the {len(cells)} tests of this table; "
        "* adjusted p < 0.05, ** adjusted p < 0.01 (raw and adjusted p in the p-value table and "
        "the CSV)."
    )
    table.correction = method
    power_note(table)
    return table


_CORR_NOTE = "Significance after correction:"
_POWER_NOTE = "Power:"


def power_note(table: Table) -> None:
    """State the table's minimum detectable effect at 80% power (from its cells' variances)."""
    mdes = [c.mde for r in table.rows for c in r.cells if not math.isnan(c.mde)]
    table.notes = [n for n in table.notes if not n.startswith(_POWER_NOTE)]
    if not mdes:
        return
    lo, med, hi = min(mdes), float(np.median(mdes)), max(mdes)
    table.notes.append(
        f"{_POWER_NOTE} minimum detectable effect at 80% power (two-sided α = 0.05, per test, "
        f"from the observed variances) {med:.1f} (median; range {lo:.1f}–{hi:.1f}): effects "
        "below it would mostly go unseen, so a cell without a mark is not evidence of no effect."
    )


def p_value_table(table: Table) -> Table | None:
    """The raw and adjusted p of every tested cell of ``table`` (None when it has none)."""
    if not any(not math.isnan(c.p_value) for r in table.rows for c in r.cells):
        return None
    out = Table(
        name=f"{table.name}_p",
        title=f"p-values of “{table.title}”: raw / adjusted ({table.correction or 'none'})",
        corner=table.corner,
        columns=list(table.columns),
        text_columns=frozenset(range(len(table.columns))),
    )
    for r in table.rows:
        cells = []
        for c in r.cells:
            if math.isnan(c.p_value):
                cells.append(Cell(text=MISSING))
                continue
            adj = c.p_adjusted if not math.isnan(c.p_adjusted) else c.p_value
            # the raw p as the value, not as a test of this table (it is not corrected again)
            cells.append(
                Cell(
                    text=f"{_p(c.p_value)} / {_p(adj)}", mark=c.mark, p_adjusted=adj, mean=c.p_value
                )
            )
        out.rows.append(Row(r.label, cells, r.kind))
    out.notes.append(
        "Each cell: raw p / p adjusted over the table ("
        + CORRECTIONS.get(table.correction, "no correction")
        + "); marks from the adjusted p."
    )
    return out


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"
