"""The files a reader gets: Markdown, CSV, LaTeX, PNG and one self-contained HTML page."""

from __future__ import annotations

import base64
import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from xstilts.experiments.results import ResultRow, ResultsStore
from xstilts.report import paper_table, robustness_table, write_report, write_report_frame
from xstilts.report.table import latex_escape

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def full_report(
    tmp_path_factory: pytest.TempPathFactory, full_frame: pd.DataFrame
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("full")
    return write_report_frame(
        full_frame,
        out / "report",
        config={"model": "xlmr-base", "note": "<script>alert(1)</script> & co"},
        versions={"python": "3.11", "torch": "2.3", "transformers": "4.44", "xstilts": "0.1.0"},
        source="demo",
    )


@pytest.fixture(scope="module")
def clean_report(
    tmp_path_factory: pytest.TempPathFactory, clean_frame: pd.DataFrame
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("clean")
    return write_report_frame(clean_frame, out / "report", versions={"python": "3"})


def test_files_written(full_report: dict[str, Path]) -> None:
    for key in (
        "report.md",
        "report.html",
        "tables/paper.csv",
        "tables/paper.tex",
        "tables/per_language_xnli.csv",
        "tables/robustness_xnli.tex",
        "tables/alignment.csv",
        "plots/heatmap.png",
        "plots/languages_xnli.png",
        "plots/languages_pawsx.png",
        "plots/robustness_xnli.png",
        "plots/alignment_layers.png",
        "plots/cka_languages.png",
    ):
        assert key in full_report, key
        assert full_report[key].is_file() and full_report[key].stat().st_size > 0
    for key, path in full_report.items():
        if key.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_MAGIC


def test_sections_absent_without_rows(clean_report: dict[str, Path]) -> None:
    assert not any("robustness" in k or "alignment" in k or "cka" in k for k in clean_report)
    page = clean_report["report.html"].read_text()
    assert 'id="robustness"' not in page and 'id="alignment"' not in page
    assert 'id="main"' in page and 'id="languages"' in page
    md = clean_report["report.md"].read_text()
    assert "## Robustness" not in md and "## Cross-lingual alignment" not in md
    assert "No configuration was given." in md


def test_sections_present_with_rows(full_report: dict[str, Path]) -> None:
    page = full_report["report.html"].read_text()
    for sid in ("summary", "main", "aggregate", "languages", "robustness", "alignment", "setup"):
        assert f'id="{sid}"' in page, sid


def test_html_is_self_contained(full_report: dict[str, Path]) -> None:
    page = full_report["report.html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "<link" not in page.lower()
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    n_png = sum(1 for k in full_report if k.endswith(".png"))
    assert len(imgs) == n_png
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC


def test_html_escapes_and_shows_setup(full_report: dict[str, Path]) -> None:
    page = full_report["report.html"].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<script>alert" not in page
    for name, version in (("torch", "2.3"), ("transformers", "4.44"), ("xstilts", "0.1.0")):
        assert f'<th scope="row">{name}</th><td>{version}</td>' in page
    assert "model: xlmr-base" in page


def test_html_marks_best_and_significance(full_report: dict[str, Path]) -> None:
    page = full_report["report.html"].read_text()
    paper = page[
        page.index('id="tab-paper"') : page.index("</table>", page.index('id="tab-paper"'))
    ]
    # raw p ≈ 0.0025 (**), Holm over the table's 6 tests: 0.015 (*)
    assert '<strong>+5.0 ± 0.0<sup class="sig">*</sup></strong>' in paper
    assert 'class="num"' in paper


def test_markdown_table(full_report: dict[str, Path]) -> None:
    md = full_report["report.md"].read_text()
    assert "| Intermediate task | pawsx | xnli | Avg |" in md
    # marks after Holm over the table's 6 tests: raw p 0.030 and 0.0025 become 0.12 and 0.015
    assert "| mnli | **+2.1 ± 0.1** | **+5.0 ± 0.0\\*** |" in md
    assert "![" in md and "(plots/heatmap.png)" in md


def test_csv_long_format(full_report: dict[str, Path]) -> None:
    rows = list(csv.DictReader(io.StringIO(full_report["tables/paper.csv"].read_text())))
    r = next(r for r in rows if r["row"] == "mnli" and r["column"] == "xnli")
    assert r["mark"] == "*" and float(r["mean"]) == pytest.approx(5.02)
    assert r["bold"] == "1" and r["n"] == "2" and 0 < float(r["p_value"]) < 0.01
    # the smallest of the table's 6 p-values: Holm multiplies it by 6
    assert float(r["p_adjusted"]) == pytest.approx(6 * float(r["p_value"]), rel=1e-4)


def _strip_escaped(tex: str) -> str:
    return tex.replace("\\{", "").replace("\\}", "")


@pytest.mark.parametrize("name", ["paper", "per_language_xnli", "robustness_xnli", "alignment"])
def test_latex_looks_compilable(full_report: dict[str, Path], name: str) -> None:
    tex = full_report[f"tables/{name}.tex"].read_text()
    body = _strip_escaped(tex)
    assert body.count("{") == body.count("}")
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert tex.count("$") % 2 == 0
    for cmd in ("\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}", "\\end{tabular}"):
        assert cmd in tex
    assert tex.index("\\toprule") < tex.index("\\midrule") < tex.index("\\bottomrule")
    spec = re.search(r"\\begin\{tabular\}\{(l r*)\}", tex.replace("lr", "l r", 1))
    assert spec
    ncols = len(spec.group(1).replace(" ", ""))
    lines = tex[tex.index("\\toprule") : tex.index("\\bottomrule")].splitlines()
    for line in lines:
        if line.endswith("\\\\"):
            assert len(re.findall(r"(?<!\\)&", line)) == ncols - 1, line
    assert "_" not in re.sub(r"\\_|\\label\{[^}]*\}", "", tex)  # every underscore escaped


def test_latex_escape() -> None:
    assert latex_escape("a_b & 50% ± #1") == "a\\_b \\& 50\\% $\\pm$ \\#1"


def test_robustness_latex_has_intervals(results_df: pd.DataFrame) -> None:
    tex = robustness_table(results_df, "xnli").latex()
    assert "81.0 $\\pm$ 1.4 [68.3, 93.7]" in tex


def test_paper_latex_marks(results_df: pd.DataFrame) -> None:
    tex = paper_table(results_df, source=False).latex()
    assert "\\textbf{+5.0 $\\pm$ 0.0}$^{**}$" in tex
    assert "Baseline & 80.5 $\\pm$ 0.7" in tex


def test_write_report_from_store(tmp_path: Path, results_df: pd.DataFrame) -> None:
    """The entry point reads ``<out>/results`` and writes under ``<out>/report``."""
    from dataclasses import fields

    names = {f.name for f in fields(ResultRow)}
    store = ResultsStore(tmp_path)
    rows = [
        ResultRow(**{k: v for k, v in r.items() if k in names})
        for r in results_df.to_dict("records")
    ]
    store.write("all", rows)
    (tmp_path / "config.yaml").write_text("seeds: [1, 2]\n")
    written = write_report(tmp_path, main_metric={"xnli": "accuracy"})
    assert written["report.html"] == tmp_path / "report" / "report.html"
    assert all(p.is_file() and (tmp_path / "report") in p.parents for p in written.values())
    page = written["report.html"].read_text()
    assert "seeds: [1, 2]" in page and "+5.0 ± 0.0" in page
    assert '<th scope="row">python</th>' in page


def test_empty_store(tmp_path: Path) -> None:
    written = write_report(tmp_path, versions={"python": "3"})
    assert set(written) == {"report.md", "report.html"}
    assert "no rows" in written["report.md"].read_text()
