"""Report figures (PNG), drawn with matplotlib's object API on the Agg canvas.

``Figure`` + ``FigureCanvasAgg`` instead of ``pyplot``: no global state, no display needed, safe in
worker threads, and no backend switch that would surprise other code in the process.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from xstilts.report import data as D
from xstilts.report.table import Table

DPI = 110
PALETTE = [
    "#4c566a",  # baseline: neutral slate
    "#2e7dd1",
    "#e8871e",
    "#2a9d8f",
    "#c0392b",
    "#8e44ad",
    "#b8860b",
    "#16a085",
    "#d35400",
    "#7f8c8d",
]
_STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _figure(w: float, h: float) -> Figure:
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(fig: Figure, *args, **kw):
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        return fig.subplots(*args, **kw)


def _save(fig: Figure, path: Path) -> Path:
    from xstilts.experiments.atomic import atomic_path

    with atomic_path(path) as tmp:  # never half a PNG
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white")
    return path


def _layer_axes(ax) -> None:
    """Whole layers on x; y values as they are (no ``1e-5 + 99.99`` offset for flat curves)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def heatmap(paper: Table, path: Path) -> Path | None:
    """Intermediate task × target Δ (points), diverging colours centred on zero, annotated.

    None for a single cell: one number reads better in the table than as a coloured square."""
    rows = [r for r in paper.rows if r.kind != "baseline"]
    if not rows or not paper.columns or len(rows) * len(paper.columns) < 2:
        return None
    mat = np.array(
        [[c.mean if not c.empty else np.nan for c in r.cells] for r in rows], dtype=float
    )
    if np.all(np.isnan(mat)):
        return None
    lim = float(np.nanmax(np.abs(mat))) or 1.0
    label_w = 0.07 * max(len(r.label) for r in rows)  # inches for the row labels
    fig = _figure(max(4.6, 1.6 + label_w + 1.05 * len(paper.columns)), 1.4 + 0.5 * len(rows))
    ax = _axes(fig)
    im = ax.imshow(np.ma.masked_invalid(mat), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(paper.columns)), paper.columns)
    ax.set_yticks(range(len(rows)), [r.label for r in rows])
    ax.tick_params(length=0)
    for sp in ax.spines.values():
        sp.set_visible(False)
    for i, r in enumerate(rows):
        for j, c in enumerate(r.cells):
            if c.empty:
                continue
            dark = abs(c.mean) > 0.6 * lim
            ax.text(
                j,
                i,
                f"{c.mean:+.1f}{c.mark}".replace("-", "\u2212"),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "#1b1b1b",
                fontweight="bold" if c.bold else "normal",
            )
    fig.colorbar(im, ax=ax, label="Δ vs. baseline (points)", shrink=0.9)
    ax.set_title("Δ vs. baseline, non-English average", fontsize=9)
    return _save(fig, path)


def language_bars(per_lang: Table, path: Path) -> Path | None:
    """Grouped bars per language: baseline vs. each intermediate, error bars = std over seeds."""
    if per_lang.empty:
        return None
    langs = per_lang.columns
    rows = per_lang.rows
    n = len(rows)
    width = 0.8 / max(n, 1)
    x = np.arange(len(langs))
    fig = _figure(max(5.0, 0.9 * len(langs) * max(1, n / 2.5) + 1.5), 3.4)
    ax = _axes(fig)
    lo = math.inf
    for k, r in enumerate(rows):
        means = np.array([c.mean if not c.empty else np.nan for c in r.cells])
        stds = np.array([c.std if not c.empty and not math.isnan(c.std) else 0 for c in r.cells])
        ax.bar(
            x + (k - (n - 1) / 2) * width,
            means,
            width * 0.92,
            yerr=stds,
            capsize=2,
            label=r.label,
            color=PALETTE[k % len(PALETTE)],
            error_kw={"elinewidth": 0.8, "ecolor": "#333"},
        )
        if np.any(~np.isnan(means)):
            lo = min(lo, float(np.nanmin(means - stds)))
    if math.isfinite(lo):
        hi = max(
            float(
                np.nanmax(
                    [c.mean + (0 if math.isnan(c.std) else c.std) for c in r.cells if not c.empty]
                )
            )
            for r in rows
            if any(not c.empty for c in r.cells)
        )
        pad = max(1.0, 0.1 * (hi - lo))
        ax.set_ylim(max(0.0, lo - pad), hi + pad)
    ax.set_xticks(x, langs)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("score ×100")
    ax.set_title(per_lang.title)
    ax.legend(ncols=min(n, 4), fontsize=8, frameon=False, loc="upper right")
    return _save(fig, path)


def robustness_curves(robust: Table, path: Path) -> Path | None:
    """Score vs. perturbation rate (clean at 0), one panel per family, one line per row."""
    fams: dict[str, list[tuple[int, float]]] = {}
    for j, col in enumerate(robust.columns):
        if col in ("Clean", "Gap") or col.startswith("attack:"):
            continue
        fam, rate = D.parse_rate(col)
        if rate is not None:
            fams.setdefault(fam, []).append((j, rate))
    if not fams or "Clean" not in robust.columns:
        return None
    cj = robust.columns.index("Clean")
    fig = _figure(3.6 * len(fams) + 0.6, 3.2)
    axes = np.atleast_1d(_axes(fig, 1, len(fams), squeeze=False)[0])
    for ax, (fam, cols) in zip(axes, sorted(fams.items()), strict=True):
        cols = sorted(cols, key=lambda c: c[1])
        for k, r in enumerate(robust.rows):
            pts = [(0.0, r.cells[cj])] + [(rate, r.cells[j]) for j, rate in cols]
            pts = [(x, c) for x, c in pts if not c.empty]
            if not pts:
                continue
            xs = np.array([p[0] for p in pts])
            ys = np.array([p[1].mean for p in pts])
            sd = np.array([0 if math.isnan(p[1].std) else p[1].std for p in pts])
            color = PALETTE[k % len(PALETTE)]
            ax.plot(xs, ys, marker="o", ms=4, color=color, label=r.label)
            ax.fill_between(xs, ys - sd, ys + sd, color=color, alpha=0.15, linewidth=0)
        ax.set_title(fam)
        ax.set_xlabel("perturbation rate")
        ax.set_ylabel("score ×100")
    axes[0].legend(fontsize=8, frameon=False)
    return _save(fig, path)


def alignment_layers(curves: pd.DataFrame, best: pd.DataFrame, path: Path) -> Path | None:
    """Metric vs. layer, one panel per metric, one line per checkpoint; ★ marks the best layer."""
    if curves.empty:
        return None
    metrics = sorted(curves["metric"].unique())
    cks = list(dict.fromkeys(curves["checkpoint"]))  # baseline first, as alignment_curves sorts
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig = _figure(3.6 * ncol + 0.4, 2.9 * nrow + 0.4)
    axes = np.atleast_1d(_axes(fig, nrow, ncol, squeeze=False)).ravel()
    for ax, met in zip(axes, metrics, strict=False):
        sc = D.scale_of(met)
        for k, ck in enumerate(cks):
            g = curves[(curves["metric"] == met) & (curves["checkpoint"] == ck)]
            if g.empty:
                continue
            color = PALETTE[k % len(PALETTE)]
            ys = g["mean"].to_numpy() * sc
            sd = np.nan_to_num(g["std"].to_numpy() * sc)
            ax.plot(g["layer"], ys, marker="o", ms=3, color=color, label=ck)
            ax.fill_between(g["layer"], ys - sd, ys + sd, color=color, alpha=0.12, linewidth=0)
            b = best[(best["metric"] == met) & (best["checkpoint"] == ck)]
            if not b.empty:
                ax.plot(
                    b["layer"].iloc[0],
                    b["mean"].iloc[0] * sc,
                    marker="*",
                    ms=13,
                    color=color,
                    markeredgecolor="black",
                    markeredgewidth=0.6,
                    zorder=5,
                )
        better = "lower is better" if met in D.LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{met} ({better})")
        _layer_axes(ax)
        ax.set_xlabel("layer")
        ax.set_ylabel(met + (" ×100" if sc == 100 else ""))
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    # One legend for the figure: every checkpoint that appears in any panel, in plot order.
    handles: dict[str, object] = {}
    for ax in axes[: len(metrics)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=min(len(handles), 3),
        fontsize=8,
        frameon=False,
    )
    return _save(fig, path)


def cka_by_language(df: pd.DataFrame, path: Path, *, model: str | None = None) -> Path | None:
    """CKA per layer, one line per language, one panel per checkpoint (mean over seeds)."""
    d = D.prepare(df)
    if model is not None:
        d = d[d["model"] == model]
    c = d[(d["metric"] == "cka") & d["layer"].notna() & (d["language"] != D.AVG)].copy()
    if c.empty:
        return None
    many = c["model"].nunique() > 1
    c["checkpoint"] = [
        ck or D.row_label(m, i, many)
        for ck, m, i in zip(c["checkpoint"], c["model"], c["intermediate"], strict=True)
    ]
    base = set(c.loc[c["intermediate"] == D.BASELINE, "checkpoint"])
    cks = sorted(c["checkpoint"].unique(), key=lambda n: (n not in base, n))
    langs = D.order_languages(c["language"].unique())
    ncol = min(3, len(cks))
    nrow = math.ceil(len(cks) / ncol)
    fig = _figure(3.6 * ncol + 0.4, 2.9 * nrow + 0.4)
    axes = np.atleast_1d(_axes(fig, nrow, ncol, squeeze=False)).ravel()
    for ax, ck in zip(axes, cks, strict=False):
        g = c[c["checkpoint"] == ck]
        for k, lang in enumerate(langs):
            s = g[g["language"] == lang].groupby("layer")["value"].mean()
            if s.empty:
                continue
            ax.plot(
                s.index,
                s.to_numpy() * 100,
                marker="o",
                ms=3,
                label=lang,
                color=PALETTE[(k + 1) % len(PALETTE)],
            )
        ax.set_title(ck, fontsize=9)
        _layer_axes(ax)
        ax.set_xlabel("layer")
        ax.set_ylabel("CKA ×100")
    for ax in axes[len(cks) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    # beside the panels, not over the lines (nine languages would cover a panel)
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False,
               title="language")  # fmt: skip
    return _save(fig, path)


def scaling(scores: pd.DataFrame, path: str, name: str, out: Path) -> Path | None:
    """Score against a numeric swept value: a panel per target, a line per set-up (mean ± std
    over seeds), the baseline dashed; log x when the values span a factor of 10 or more."""
    if scores.empty:
        return None
    targets = sorted(scores["target"].unique())
    fig = _figure(max(4.2, 3.8 * len(targets) + 0.6), 3.3)
    axes = np.atleast_1d(_axes(fig, 1, len(targets), squeeze=False)[0])
    for ax, target in zip(axes, targets, strict=True):
        g = scores[scores["target"] == target]
        setups = D.order_intermediates(g["intermediate"].unique())
        for k, (model, inter) in enumerate(
            (m, i) for m in sorted(g["model"].unique()) for i in setups
        ):
            s = g[(g["model"] == model) & (g["intermediate"] == inter)]
            if s.empty:
                continue
            st = s.groupby(path)["value"].agg(["mean", "std"]).sort_index()
            xs = st.index.to_numpy(dtype=float)
            ys = 100 * st["mean"].to_numpy()
            sd = 100 * np.nan_to_num(st["std"].to_numpy())
            label = D.row_label(model, inter, g["model"].nunique() > 1)
            base = inter == D.BASELINE
            color = PALETTE[0] if base else PALETTE[1 + k % (len(PALETTE) - 1)]
            ax.plot(xs, ys, marker="o", ms=4, color=color, ls="--" if base else "-", label=label)
            ax.fill_between(xs, ys - sd, ys + sd, color=color, alpha=0.15, linewidth=0)
        vals = g[path].astype(float)
        if (vals > 0).all() and vals.max() / vals.min() >= 10:
            ax.set_xscale("log")
        ax.set_title(f"{target} ({g['metric'].iloc[0]})", fontsize=9)
        ax.set_xlabel(name)
        ax.set_ylabel("non-English avg ×100")
    axes[0].legend(fontsize=8, frameon=False)
    return _save(fig, out)
