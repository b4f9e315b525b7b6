"""``write_report``: the results store of an output directory -> Markdown, HTML, CSV, LaTeX, PNG.

The report is assembled once as a list of sections (text, tables, figures, code) and rendered
twice: Markdown that links the PNGs beside it, and one self-contained HTML file (inline CSS,
figures as base64 data URIs, no script, nothing fetched) that can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from markdown_it import MarkdownIt

from xstilts.experiments.sweep import sweep_frame
from xstilts.report import data as D
from xstilts.report import plots as P
from xstilts.report.effects import alignment_effects, effect_tables, grouped_gap_table
from xstilts.report.leaderboard import leaderboard_tables
from xstilts.report.page import CSS
from xstilts.report.table import Table
from xstilts.report.tables import (
    AVG_COL,
    aggregate_table,
    alignment_curves,
    alignment_table,
    attack_table,
    best_layers,
    paired_table,
    paper_table,
    per_language_table,
    robustness_table,
)


@dataclass
class Block:
    kind: str  # "text" | "bullets" | "table" | "figure" | "code" | "kv" | "h3" | "markdown"
    value: Any
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)


def write_report(
    out_dir: str | Path,
    report_dir: str | Path | None = None,
    main_metric: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | str | Path | None = None,
    versions: Mapping[str, str] | None = None,
    answer: str | Path | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``tables/*.{csv,tex}``, ``plots/*.png``.

    ``answer``: a Markdown file (a study's written answer) placed after the summary.

    ``report_dir`` defaults to ``<out_dir>/report``. Returns ``{relative name: path}`` for every
    file written. ``config`` is a mapping, YAML text or a YAML file (default:
    ``<out_dir>/config.yaml`` if present); ``versions`` defaults to the installed packages.
    """
    out_dir = Path(out_dir)
    rdir = Path(report_dir) if report_dir is not None else out_dir / "report"
    df = sweep_frame(out_dir)  # the result rows, swept values as columns for a sweep
    return write_report_frame(
        df,
        rdir,
        main_metric=main_metric,
        config=config if config is not None else _default_config(out_dir),
        versions=versions,
        source=out_dir.name,
        answer=Path(answer).read_text(encoding="utf-8") if answer else None,
    )


def write_report_frame(
    df: pd.DataFrame,
    report_dir: str | Path,
    *,
    main_metric: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | str | Path | None = None,
    versions: Mapping[str, str] | None = None,
    source: str = "",
    answer: str | None = None,
) -> dict[str, Path]:
    """``write_report`` for a frame already in memory (tests, notebooks, merged stores)."""
    rdir = Path(report_dir)
    written: dict[str, Path] = {}
    sections = build_sections(df, rdir, written, main_metric=main_metric, source=source)
    if answer:
        sections.insert(1, answer_section(answer))
    sections.append(_setup_section(config, versions))
    title = "xstilts report" + (f": {source}" if source else "")
    md = render_markdown(title, sections, rdir)
    page = render_html(title, sections)
    written["report.md"] = write_text(rdir / "report.md", md)
    written["report.html"] = write_text(rdir / "report.html", page)
    return written


# -- assembling -------------------------------------------------------------------------------


def build_sections(
    df: pd.DataFrame,
    rdir: Path,
    written: dict[str, Path],
    *,
    main_metric: Mapping[str, str] | None = None,
    source: str = "",
) -> list[Section]:
    """All result sections; tables and plots are written as they are built."""
    from xstilts.report.sweep import fold, sweep_section

    sweep = sweep_section(df, rdir, written, main_metric)  # None unless the run is a sweep
    df = fold(df)  # a sweep: each point scoped like a model
    d = D.prepare(df)
    if d.empty:
        return [
            Section("summary", "Summary", [Block("text", "The results store has no rows yet.")])
        ]
    model_list = D.models(d)
    many = len(model_list) > 1
    scopes: list[str | None] = list(model_list) if many else [None]

    def save_table(t: Table) -> None:
        written[f"tables/{t.name}.csv"] = write_text(rdir / "tables" / f"{t.name}.csv", t.csv())
        written[f"tables/{t.name}.tex"] = write_text(rdir / "tables" / f"{t.name}.tex", t.latex())

    def save_plot(name: str, fn, *args, **kw) -> Path | None:
        p = fn(*args, rdir / "plots" / f"{name}.png", **kw)
        if p is not None:
            written[f"plots/{name}.png"] = p
        return p

    summary = Section(
        "summary", "Summary", [Block("bullets", _summary_lines(d, source, count_line(df)))]
    )
    main = Section("main", "Main results")
    agg = Section("aggregate", "Aggregate")
    perlang = Section("languages", "Per-language results")
    robust = Section("robustness", "Robustness")
    effects = Section("effects", "Effects of intermediate training (per seed, with intervals)")
    align = Section("alignment", "Cross-lingual alignment")
    headline: list[str] = []

    for model in scopes:
        sfx = f"_{_slug(model)}" if model else ""
        label = f" — {model}" if model else ""
        paper = paper_table(df, main_metric, model=model)
        if paper.rows:
            save_table(paper)
            main.blocks.append(Block("table", paper))
            hm = save_plot(f"heatmap{sfx}", P.heatmap, paper)
            if hm:
                main.blocks.append(
                    Block("figure", hm, f"Δ vs. baseline per intermediate × target{label}")
                )
            ag = aggregate_table(df, main_metric, model=model)
            if ag.rows:
                save_table(ag)
                agg.blocks.append(Block("table", ag))
                top = ag.rows[0]
                headline.append(
                    f"Best intermediate task{label}: {top.label} "
                    f"({top.cells[0].text}{top.cells[0].mark} points over the baseline"
                    + (" on average over targets" if AVG_COL in paper.columns else "")
                    + f"; improves {top.cells[1].text} targets)."
                )
        dm = d if model is None else d[d["model"] == model]
        rows = D.task_rows(dm)
        targets = list(D.resolve_main_metrics(rows, main_metric))
        for t in targets:
            pl = per_language_table(df, t, main_metric, model=model)
            if pl.empty:
                continue
            save_table(pl)
            perlang.blocks.append(Block("h3", f"{t}{label}"))
            perlang.blocks.append(Block("table", pl))
            bars = save_plot(f"languages_{_slug(t)}{sfx}", P.language_bars, pl)
            if bars:
                perlang.blocks.append(Block("figure", bars, f"{t}: per-language scores{label}"))
        for t in targets:
            tr = rows[rows["task"] == t]
            if not tr["kind"].isin(["perturbed", "attack"]).any():
                continue
            rt = robustness_table(df, t, main_metric, model=model)
            if rt.empty:
                continue
            robust.blocks.append(Block("h3", f"{t}{label}"))
            save_table(rt)
            robust.blocks.append(Block("table", rt))
            gt = robustness_table(df, t, main_metric, model=model, gap=True)
            if len(gt.columns) > 2:  # more than one perturbation: the per-perturbation gaps help
                save_table(gt)
                robust.blocks.append(Block("table", gt))
            if (tr["kind"] == "attack").any():
                at = attack_table(df, t, model=model)
                if not at.empty:
                    save_table(at)
                    robust.blocks.append(Block("table", at))
            curve = save_plot(f"robustness_{_slug(t)}{sfx}", P.robustness_curves, rt)
            if curve:
                robust.blocks.append(
                    Block("figure", curve, f"{t}: score vs. perturbation rate{label}")
                )
            found = effect_tables(df, t, main_metric, model=model)
            for by in ("script", "resource", "language"):
                for attacks in (False, True):
                    g = grouped_gap_table(df, t, main_metric, by=by, model=model, attacks=attacks)
                    if not g.empty and (by == "language" or len(g.columns) > 1):
                        found.append(g)
            if found:
                effects.blocks.append(Block("h3", f"{t}{label}"))
            for et in found:
                save_table(et)
                effects.blocks.append(Block("table", et))
            if (tr["metric"] == "delta_vs_baseline").any():  # xstilts.evaluation.robustness
                pt = paired_table(df, t, model=model)
                if not pt.empty:
                    save_table(pt)
                    robust.blocks.append(Block("table", pt))
        if (dm["kind"] == "alignment").any():
            curves = alignment_curves(df, model=model)
            if not curves.empty:
                at = alignment_table(df, model=model)
                save_table(at)
                if label:
                    align.blocks.append(Block("h3", model))
                align.blocks.append(Block("table", at))
                lc = save_plot(
                    f"alignment_layers{sfx}", P.alignment_layers, curves, best_layers(curves)
                )
                if lc:
                    align.blocks.append(
                        Block("figure", lc, f"Alignment metrics per layer (★ best layer){label}")
                    )
            for tb in alignment_effects(df, model=model):
                save_table(tb)
                align.blocks.append(Block("table", tb))
            cka = save_plot(f"cka_languages{sfx}", P.cka_by_language, df, model=model)
            if cka:
                align.blocks.append(Block("figure", cka, f"CKA per layer and language{label}"))

    board = Section("leaderboard", "XTREME and XTREME-R scores (as their leaderboards)")
    for t in leaderboard_tables(df):
        save_table(t)
        board.blocks.append(Block("table", t))

    summary.blocks[0].value.extend(headline)
    return [
        s
        for s in (summary, sweep, main, agg, board, perlang, robust, effects, align)
        if s and s.blocks
    ]


def answer_section(markdown: str) -> Section:
    """A study's written answer, kept as Markdown (CommonMark; rendered to HTML by markdown-it)."""
    return Section("answer", "Answer", [Block("markdown", markdown.strip())])


def count_line(df: pd.DataFrame) -> str:
    """How many rows a results frame holds, as the console and the report both say it: rows the
    steps measured, then the paired comparisons the report adds (``compare-*`` steps)."""
    step = df["step"].astype(str) if "step" in df.columns else pd.Series([], dtype=str)
    k = int(step.str.startswith("compare-").sum())
    line = f"{len(df) - k} result rows"
    if k:
        line += f" and {k} paired comparisons with the baseline"
    if df.attrs.get("sweep_paths"):
        line += " (a row that several sweep values share counted once per value)"
    return line


def _summary_lines(d: pd.DataFrame, source: str, counted: str = "") -> list[str]:
    rows = D.task_rows(d)
    inter = [i for i in D.order_intermediates(d["intermediate"].unique()) if i != D.BASELINE]
    targets = sorted(set(rows.loc[rows["kind"] == "clean", "task"]))
    langs = [lang for lang in D.order_languages(rows["language"].unique()) if lang != D.AVG]
    seeds = sorted(d["seed"].unique())
    n_runs = d["run_id"].nunique()
    lines = [
        f"{counted or f'{len(d)} results'} from {n_runs} run{'s' * (n_runs != 1)}"
        + (f" in {source}" if source else "")
        + ".",
        "Model" + ("s" * (d["model"].nunique() > 1)) + ": " + ", ".join(D.models(d)) + ".",
        f"Intermediate tasks ({len(inter)}): " + (", ".join(inter) or "none") + "; baseline: none.",
        f"Target tasks ({len(targets)}): " + (", ".join(targets) or "none") + ".",
        f"Languages ({len(langs)}): " + ", ".join(langs) + ".",
        f"Seeds ({len(seeds)}): " + ", ".join(map(str, seeds)) + ".",
    ]
    extras = []
    if (d["kind"] == "perturbed").any():
        n = d.loc[d["kind"] == "perturbed", "perturbation"].nunique()
        extras.append(f"{n} perturbation{'s' * (n != 1)}")
    if (d["kind"] == "attack").any():
        n = d.loc[d["kind"] == "attack", "perturbation"].nunique()
        extras.append(f"{n} attack{'s' * (n != 1)}")
    if (d["kind"] == "alignment").any():
        extras.append(
            "alignment probes: "
            + ", ".join(sorted(d.loc[d["kind"] == "alignment", "metric"].unique()))
        )
    if extras:
        lines.append("Also evaluated: " + "; ".join(extras) + ".")
    return lines


def _setup_section(
    config: Mapping[str, Any] | str | Path | None, versions: Mapping[str, str] | None
) -> Section:
    s = Section("setup", "Setup")
    s.blocks.append(Block("h3", "Versions"))
    s.blocks.append(Block("kv", dict(versions) if versions is not None else detect_versions()))
    text = config_text(config)
    s.blocks.append(Block("h3", "Configuration"))
    s.blocks.append(Block("code", text) if text else Block("text", "No configuration was given."))
    return s


def config_text(config: Mapping[str, Any] | str | Path | None) -> str:
    """The config as YAML text: a mapping is dumped, a file read, a string taken as YAML."""
    if config is None:
        return ""
    if isinstance(config, Mapping):
        import yaml

        return yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
    if isinstance(config, Path) or (
        isinstance(config, str) and "\n" not in config and Path(config).is_file()
    ):
        return Path(config).read_text(encoding="utf-8")
    return str(config)


def _default_config(out_dir: Path) -> Path | None:
    p = out_dir / "config.yaml"
    return p if p.is_file() else None


def detect_versions() -> dict[str, str]:
    """Python and the packages whose versions decide the numbers (read from metadata, no import)."""
    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "xstilts"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


# -- rendering --------------------------------------------------------------------------------


def render_markdown(title: str, sections: list[Section], rdir: Path) -> str:
    """Markdown with tables inline and figures linked relative to ``report.md``."""
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if b.kind in ("text", "markdown"):
                out += [b.value, ""]
            elif b.kind == "bullets":
                out += [f"- {line}" for line in b.value] + [""]
            elif b.kind == "h3":
                out += [f"### {b.value}", ""]
            elif b.kind == "table":
                out += [b.value.markdown()]
            elif b.kind == "figure":
                rel = Path(b.value).relative_to(rdir).as_posix()
                out += [f"![{b.caption}]({rel})", ""]
            elif b.kind == "code":
                out += ["```yaml", b.value.rstrip("\n"), "```", ""]
            elif b.kind == "kv":
                out += ["| package | version |", "|:---|:---|"]
                out += [f"| {k} | {v} |" for k, v in b.value.items()] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_html(title: str, sections: list[Section]) -> str:
    """One self-contained page: inline CSS, PNGs as data URIs, no script, no external URL."""
    e = html.escape
    nav = "".join(f'<a href="#{e(s.id)}">{e(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        body.append(f'<section id="{e(s.id)}"><h2>{e(s.title)}</h2>')
        for b in s.blocks:
            if b.kind == "text":
                body.append(f"<p>{e(b.value)}</p>")
            elif b.kind == "markdown":  # raw HTML in the Markdown is escaped, not passed through
                body.append(
                    MarkdownIt("commonmark", {"html": False}).enable("table").render(b.value)
                )
            elif b.kind == "bullets":
                body.append(
                    '<ul class="summary">' + "".join(f"<li>{e(x)}</li>" for x in b.value) + "</ul>"
                )
            elif b.kind == "h3":
                body.append(f"<h3>{e(b.value)}</h3>")
            elif b.kind == "table":
                body.append(b.value.html())
            elif b.kind == "figure":
                data = base64.b64encode(Path(b.value).read_bytes()).decode("ascii")
                body.append(
                    f'<figure><img alt="{e(b.caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{e(b.caption)}</figcaption></figure>"
                )
            elif b.kind == "code":
                body.append(f'<pre class="config"><code>{e(b.value)}</code></pre>')
            elif b.kind == "kv":
                rows = "".join(
                    f'<tr><th scope="row">{e(str(k))}</th><td>{e(str(v))}</td></tr>'
                    for k, v in b.value.items()
                )
                body.append(f'<table class="kv"><tbody>{rows}</tbody></table>')
        body.append("</section>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{e(title)}</h1><nav>{nav}</nav></header><main>{''.join(body)}</main>"
        "<footer>Generated by xstilts. Scores ×100; Δ in points. "
        "Significance: paired t-test over seeds (* p &lt; 0.05, ** p &lt; 0.01).</footer>"
        "</body></html>\n"
    )


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically, creating folders: a report cut by a kill or a full disk is
    the previous one or absent, never half a page."""
    from xstilts.experiments.atomic import write_text as atomic_write

    atomic_write(path, text)
    return path


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s).strip("_") or "x"
