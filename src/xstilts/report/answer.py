"""Written answers whose numbers the tool checks against the report's tables.

An answer (Markdown) cites measured numbers by reference to a table cell and the report renders
the value, so an answer cannot drift from its tables. Markers (components in double quotes, since
labels hold dots, ``@`` and spaces, e.g. ``keyboard@0.2``)::

    {{cell "effects_xnli" "pawsx" "keyboard@0.2"}}        the cell as the table shows it
    {{cell "effects_xnli" "pawsx" "Clean" ci}}           one field of it (see FIELDS)
    {{cite "Phang et al., 2020" +5.4}}                   a figure from the literature
    {{design "seeds per set-up" 3}}                      a value chosen by the study design
    {{config "seeds"}}                                   a value read from the run's config

Cited cells, literature figures and design values are rendered in place and listed apart under
the answer. Any other literal number with a decimal point or a ``%`` sign (outside code spans)
must equal some table cell within its own rounding (sign ignored: "lowered by 2.0" may describe a
cell of −2.0); one that does not, and any cited cell that does not exist, is an error naming the
line. The grammar is documented in ``docs/statistics.md`` and the README.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xstilts.errors import XstiltsError
from xstilts.report.table import Cell, Table

FIELDS = (
    "text",
    "mean",
    "low",
    "high",
    "ci",
    "std",
    "p",
    "p_adj",
    "seed_ci",
    "mde",
    "n",
)
_MARKER = re.compile(r"\{\{\s*(?P<kind>[A-Za-z_]+)(?P<args>(?:[^}\"]|\"(?:[^\"\\]|\\.)*\")*)\}\}")
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_CODE = re.compile(r"`[^`]*`")
# a number not glued to a word, a label (``@0.2``), a version (``v1.1``) or a path
_NUMBER = re.compile(
    r"(?<![\w@./\\-])(?P<num>\d+(?:\.\d+)?)(?P<pct>\s?%)"
    r"|(?<![\w@./\\])(?P<dec>\d+\.\d+)(?![\w@]|\.\d)"
)
_SIGNED = re.compile(r"[-+−]?\d+(?:\.\d+)?")


class AnswerError(XstiltsError):
    """An answer that cites a missing cell or states a number no table holds (one line each)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)

    def lines(self) -> list[str]:
        return [" ".join(e.split()) for e in self.errors]


@dataclass
class Cited:
    line: int
    kind: str  # "cell" | "cite" | "design" | "config" | "matched" (a literal equal to a cell)
    what: str  # the reference (table/row/column, source, description, config path)
    value: str  # as rendered


@dataclass
class CheckedAnswer:
    markdown: str  # the answer with every marker rendered
    cited: list[Cited] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Cited]:
        return [c for c in self.cited if c.kind == kind]

    def listing(self) -> str:
        """The figures the answer rests on, grouped: measured, literature, design."""
        out = []
        groups = (
            ("cell", "Measured (rendered from the report's tables)"),
            ("cite", "From the literature (not measured here)"),
            ("design", "Design values (chosen, not measured)"),
            ("config", "Design values read from the configuration"),
            ("matched", "Written out, matched by value to a table cell (cite the cell instead)"),
        )
        for kind, title in groups:
            items = self.of(kind)
            if items:
                out.append(f"**{title}**")
                out.append("")
                out += [f"- line {c.line}: {c.value} — {c.what}" for c in items]
                out.append("")
        return "\n".join(out).rstrip("\n")


def _decimals(text: str) -> int:
    m = re.search(r"\d+(?:\.(\d+))?", text)
    return len(m.group(1) or "") if m and m.group(1) else 0 if m else 1


def _num(x: float, dec: int, signed: bool) -> str:
    return f"{x:+.{dec}f}" if signed else f"{x:.{dec}f}"


def render_cell(cell: Cell, fld: str = "text") -> str:
    """One field of a cell as text, with the cell's own decimals and sign convention."""
    dec = _decimals(cell.text)
    signed = cell.text.lstrip().startswith(("+", "-"))
    if fld == "text":
        return cell.text + cell.mark
    if fld == "n":
        return str(cell.n)
    if fld in ("p", "p_adj"):
        p = cell.p_value if fld == "p" else cell.p_adjusted
        return "n/a" if math.isnan(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")
    pair = {"ci": (cell.ci_low, cell.ci_high), "seed_ci": (cell.seed_ci_low, cell.seed_ci_high)}
    if fld in pair:
        lo, hi = pair[fld]
        return f"[{_num(lo, dec, signed)}, {_num(hi, dec, signed)}]"
    val = {
        "mean": cell.mean,
        "low": cell.ci_low,
        "high": cell.ci_high,
        "std": cell.std,
        "mde": cell.mde,
    }[fld]
    return _num(val, dec, signed and fld in ("mean", "low", "high"))


def _args(text: str) -> list[str]:
    return [
        m.group(1).replace('\\"', '"') if m.group(1) is not None else m.group(2)
        for m in _ARG.finditer(text)
    ]


def _lookup(tables: Mapping[str, Table], ref: list[str]) -> tuple[Cell | None, str]:
    """The cell at (table, row, column), or None with what is missing."""
    name, row, col = ref
    t = tables.get(name)
    if t is None:
        return None, f"no table {name!r} in this report ({_some(tables)})"
    r = next((r for r in t.rows if r.label == row), None)
    if r is None:
        return None, f"table {name!r} has no row {row!r} ({_some(r.label for r in t.rows)})"
    if col not in t.columns:
        return None, f"table {name!r} has no column {col!r} ({_some(t.columns)})"
    return r.cells[t.columns.index(col)], ""


def _some(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:8])
    return ("has " + shown + (", ..." if len(names) > 8 else "")) if names else "none"


def _config_value(config: Mapping[str, Any] | None, path: list[str]) -> tuple[Any, str]:
    node: Any = config
    if config is None:
        return None, "no configuration to read it from"
    for k in path:
        if isinstance(node, Mapping) and k in node:
            node = node[k]
        elif isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
        else:
            return None, f"the configuration has no {' › '.join(path)!r}"
    return node, ""


def table_numbers(tables: Iterable[Table]) -> list[tuple[float, str]]:
    """Every number a cell shows or is (its text, mean, interval, raw and adjusted p, MDE), as
    sorted (absolute value, "table › row › column") pairs for the literal-number check."""
    out: dict[float, str] = {}
    for t in tables:
        for r in t.rows:
            for col, c in zip(t.columns, r.cells, strict=False):
                vals = [c.mean, c.ci_low, c.ci_high, c.p_value, c.p_adjusted, c.mde]
                vals += [float(x.replace("−", "-")) for x in _SIGNED.findall(c.text)]
                ref = f"{t.name} › {r.label} › {col}"
                for v in vals:
                    if isinstance(v, float) and math.isfinite(v):
                        out.setdefault(abs(v), ref)
    return sorted(out.items())


def _match(lit: str, numbers: list[tuple[float, str]]) -> str | None:
    """The cell a literal equals within its own rounding (None if none)."""
    import bisect

    dec = len(lit.split(".")[1]) if "." in lit else 0
    x, tol = float(lit), 0.5 * 10.0**-dec + 1e-9
    k = bisect.bisect_left(numbers, (x - tol, ""))
    return numbers[k][1] if k < len(numbers) and numbers[k][0] <= x + tol else None


def check_answer(
    text: str,
    tables: Mapping[str, Table],
    *,
    config: Mapping[str, Any] | None = None,
    where: str = "answer",
) -> CheckedAnswer:
    """Render every marker of ``text`` and check every other literal number (see the module doc)."""
    numbers = table_numbers(tables.values())
    res = CheckedAnswer("")
    out_lines = []
    in_fence = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            out_lines.append(line)
            continue
        if in_fence:
            out_lines.append(line)
            continue

        def err(msg: str, lineno: int = lineno) -> None:
            res.errors.append(f"{where}:{lineno}: {msg}")

        def render(m: re.Match, lineno: int = lineno) -> str:
            kind, args = m.group("kind"), _args(m.group("args"))
            if kind == "cell":
                if len(args) not in (3, 4) or (len(args) == 4 and args[3] not in FIELDS):
                    err(
                        f'{{{{cell "TABLE" "ROW" "COLUMN" [FIELD]}}}} expected, got {m.group(0)!r}'
                        f" (FIELD one of {', '.join(FIELDS)})"
                    )
                    return m.group(0)
                cell, why = _lookup(tables, args[:3])
                if cell is None:
                    err(f"cited cell does not exist: {why}")
                    return m.group(0)
                value = render_cell(cell, args[3] if len(args) == 4 else "text")
                res.cited.append(Cited(lineno, "cell", " › ".join(args), value))
                return value
            if kind in ("cite", "design"):
                if len(args) != 2 or not _SIGNED.fullmatch(args[1].rstrip("%").strip()):
                    err(f'{{{{{kind} "SOURCE" NUMBER}}}} expected, got {m.group(0)!r}')
                    return m.group(0)
                value = args[1]
                res.cited.append(Cited(lineno, kind, args[0], value))
                return f"{value} ({args[0]})" if kind == "cite" else value
            if kind == "config":
                value, why = _config_value(config, args)
                if why:
                    err(f"config reference {m.group(0)!r}: {why}")
                    return m.group(0)
                shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                res.cited.append(Cited(lineno, "config", " › ".join(args), shown))
                return shown
            err(f"unknown marker {kind!r} in {m.group(0)!r} (use cell, cite, design or config)")
            return m.group(0)

        rendered = _MARKER.sub(render, line)
        out_lines.append(rendered)
        bare = _CODE.sub(" ", _MARKER.sub(" ", line))
        for m in _NUMBER.finditer(bare):
            lit = m.group("num") or m.group("dec")
            shown = lit + (m.group("pct") or "").strip()
            ref = _match(lit, numbers)
            if ref is not None:  # allowed, but listed: a reader can see what it was matched to
                res.cited.append(Cited(lineno, "matched", f"equals {ref}", shown))
            else:
                err(
                    f"{shown} matches no table cell: cite the cell ({{{{cell ...}}}}), or mark a "
                    "figure from the literature ({{cite ...}}) or a design value ({{design ...}})"
                )
    res.markdown = "\n".join(out_lines)
    return res
