"""What a reader of a study sees: paper tables, per-language and robustness tables, plots, a page.

Everything is a pure function of the results frame (``ResultsStore(out).frame()``) except
``write_report``, which writes ``report.md``, a self-contained ``report.html``, ``tables/*.csv``,
``tables/*.tex`` and ``plots/*.png`` under ``<out>/report/``.
"""

from xstilts.report.build import write_report, write_report_frame
from xstilts.report.table import Cell, Row, Table
from xstilts.report.tables import (
    aggregate_table,
    alignment_curves,
    alignment_table,
    attack_table,
    best_layers,
    paper_table,
    per_language_table,
    robustness_table,
)

__all__ = [
    "Cell",
    "Row",
    "Table",
    "aggregate_table",
    "alignment_curves",
    "alignment_table",
    "attack_table",
    "best_layers",
    "paper_table",
    "per_language_table",
    "robustness_table",
    "write_report",
    "write_report_frame",
]

from xstilts.callable import callable_package  # noqa: E402

callable_package(__name__, "report")  # ``xstilts.report(...)`` is the API function
