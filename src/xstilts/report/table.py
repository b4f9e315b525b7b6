"""One table model, four renderings (Markdown, CSV, LaTeX booktabs, HTML).

Builders fill a :class:`Table` once; every output format is rendered from it, so the Markdown,
the paper's LaTeX and the HTML page can never disagree about a number.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass, field

MISSING = "—"


@dataclass
class Cell:
    """A displayed number with the statistics behind it (in display scale, e.g. ×100)."""

    text: str = MISSING
    mark: str = ""  # significance: "", "*", "**"
    note: str = ""  # footnote symbol, e.g. "†"
    bold: bool = False
    rank: float = math.nan  # what "best in column" compares
    mean: float = math.nan
    std: float = math.nan
    n: int = 0
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan  # raw p of the cell's test
    p_adjusted: float = math.nan  # after the table family's multiple-comparison correction
    seed_ci_low: float = math.nan  # the seed-only t-interval, kept as a secondary interval
    seed_ci_high: float = math.nan
    mde: float = math.nan  # minimum detectable effect at 80% power

    @property
    def empty(self) -> bool:
        return self.text == MISSING


@dataclass
class Row:
    label: str
    cells: list[Cell]
    kind: str = ""  # "baseline" rows are set apart (rule below, shaded)


@dataclass
class Table:
    """A titled grid: ``corner`` heads the label column, ``columns`` the cells."""

    name: str
    title: str
    corner: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    higher_is_better: list[bool] | None = None
    text_columns: frozenset[int] = frozenset()  # columns of words, left-aligned in HTML
    correction: str = ""  # multiple-comparison correction applied to the table's p-values
    # per column: the perturbation's or attack's parameters behind it (plots read rates here)
    column_params: list[dict] | None = None

    @property
    def empty(self) -> bool:
        return not self.rows or all(c.empty for r in self.rows for c in r.cells)

    def mark_best(self, skip_kinds: tuple[str, ...] = ()) -> None:
        """Bold the best ``rank`` per column (ties all bold); rows of ``skip_kinds`` don't compete."""
        for j in range(len(self.columns)):
            higher = True if self.higher_is_better is None else self.higher_is_better[j]
            ranked = [
                (r.cells[j].rank, r.cells[j])
                for r in self.rows
                if r.kind not in skip_kinds and not math.isnan(r.cells[j].rank)
            ]
            if len(ranked) < 2:
                continue
            best = max(v for v, _ in ranked) if higher else min(v for v, _ in ranked)
            for v, cell in ranked:
                cell.bold = abs(v - best) <= 1e-9 * max(1.0, abs(best))

    # -- renderings -------------------------------------------------------------------------

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table with title and footnotes."""

        def esc(s: str) -> str:
            return s.replace("|", "\\|").replace("*", "\\*")

        lines = [f"**{esc(self.title)}**", ""]
        lines.append("| " + " | ".join([esc(self.corner), *map(esc, self.columns)]) + " |")
        lines.append("|" + "|".join([":---", *["---:"] * len(self.columns)]) + "|")
        for row in self.rows:
            cells = []
            for c in row.cells:
                t = esc(c.text) + esc(c.mark) + c.note
                cells.append(f"**{t}**" if c.bold and not c.empty else t)
            lines.append("| " + " | ".join([esc(row.label), *cells]) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {esc(n)}" for n in self.notes)
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """Long format, one line per cell, with the statistics (display scale) for re-analysis."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "table",
                "row",
                "column",
                "text",
                "mark",
                "bold",
                "mean",
                "std",
                "n",
                "ci_low",
                "ci_high",
                "p_value",
                "p_adjusted",
                "seed_ci_low",
                "seed_ci_high",
                "mde",
            ]
        )
        for row in self.rows:
            for col, c in zip(self.columns, row.cells, strict=True):
                w.writerow(
                    [
                        self.name,
                        row.label,
                        col,
                        c.text,
                        c.mark,
                        int(c.bold),
                        _num(c.mean),
                        _num(c.std),
                        c.n,
                        _num(c.ci_low),
                        _num(c.ci_high),
                        _num(c.p_value),
                        _num(c.p_adjusted),
                        _num(c.seed_ci_low),
                        _num(c.seed_ci_high),
                        _num(c.mde),
                    ]
                )
        return buf.getvalue()

    def latex(self) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
        spec = "l" + "r" * len(self.columns)
        out = [
            "\\begin{table}[t]",
            "\\centering",
            "\\small",
            f"\\caption{{{latex_escape(self.title)}}}",
            f"\\label{{tab:{latex_escape(self.name)}}}",
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join([latex_escape(self.corner), *map(latex_escape, self.columns)]) + " \\\\",
            "\\midrule",
        ]
        for i, row in enumerate(self.rows):
            cells = []
            for c in row.cells:
                t = latex_escape(c.text)
                if c.bold and not c.empty:
                    t = f"\\textbf{{{t}}}"
                if c.mark:
                    t += f"$^{{{c.mark}}}$"
                if c.note:
                    t += f"$^{{{latex_escape(c.note)}}}$"
                cells.append(t)
            out.append(" & ".join([latex_escape(row.label), *cells]) + " \\\\")
            nxt = self.rows[i + 1] if i + 1 < len(self.rows) else None
            if row.kind == "baseline" and nxt is not None and nxt.kind != "baseline":
                out.append("\\midrule")
        out.append("\\bottomrule")
        out.append("\\end{tabular}")
        if self.notes:
            out.append("\\par\\smallskip")
            out.append(
                "{\\footnotesize " + " \\\\ ".join(latex_escape(n) for n in self.notes) + "}"
            )
        out.append("\\end{table}")
        return "\n".join(out) + "\n"

    def html(self) -> str:
        """An HTML ``<table>`` (every value escaped); numbers right-aligned via CSS classes."""
        e = html.escape
        tid = f"tab-{e(self.name)}"
        parts = [
            f'<div class="table-wrap"><p class="table-title" id="{tid}-title">{e(self.title)}</p>'
        ]
        parts.append(f'<table class="report" id="{tid}" aria-labelledby="{tid}-title">')
        parts.append("<thead><tr>")
        parts.append(f'<th scope="col" class="label">{e(self.corner)}</th>')
        parts.extend(
            f'<th scope="col" class="{"text" if j in self.text_columns else "num"}">{e(c)}</th>'
            for j, c in enumerate(self.columns)
        )
        parts.append("</tr></thead><tbody>")
        for row in self.rows:
            cls = f' class="{e(row.kind)}"' if row.kind else ""
            parts.append(f'<tr{cls}><th scope="row" class="label">{e(row.label)}</th>')
            for j, c in enumerate(row.cells):
                main, ci = c.text, ""
                if " [" in main and main.endswith("]"):  # the CI goes on a second, smaller line
                    main, ci = main.split(" [", 1)
                    ci = "[" + ci
                text = e(_typeset_minus(main))
                if c.mark:
                    text += f'<sup class="sig">{e(c.mark)}</sup>'
                if c.note:
                    text += f'<sup class="note">{e(c.note)}</sup>'
                if c.bold and not c.empty:
                    text = f"<strong>{text}</strong>"
                if ci:
                    text += f'<span class="ci">{e(_typeset_minus(ci))}</span>'
                klass = "text" if j in self.text_columns else "num"
                klass += " missing" if c.empty else ""
                parts.append(f'<td class="{klass}">{text}</td>')
            parts.append("</tr>")
        parts.append("</tbody></table>")
        if self.notes:
            parts.append('<ul class="notes">')
            parts.extend(f"<li>{e(n)}</li>" for n in self.notes)
            parts.append("</ul>")
        parts.append("</div>")
        return "".join(parts)


_LATEX_SPECIAL = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
    "±": "$\\pm$",
    "Δ": "$\\Delta$",
    "—": "---",
    "–": "--",
    "†": "$\\dagger$",
    "‡": "$\\ddagger$",
    "×": "$\\times$",
    "<": "$<$",
    ">": "$>$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials (and typeset ±, Δ, †) so any label compiles."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _typeset_minus(text: str) -> str:
    """Use a real minus sign for negative numbers (HTML only; LaTeX/CSV keep ASCII)."""
    out = []
    for i, ch in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        out.append("\u2212" if ch == "-" and nxt.isdigit() else ch)
    return "".join(out)


def _num(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6g}"
