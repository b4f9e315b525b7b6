"""Answers whose numbers the tool checks: cell references, citations, design values."""

from __future__ import annotations

import sys

import pytest
from itemkit import make_run

from xstilts.report.answer import check_answer
from xstilts.report.table import Cell, Row, Table


def _tables() -> dict[str, Table]:
    t = Table("effects_xnli", "Δ", "Intermediate task", ["Clean", "keyboard@0.2", "char_swap@0.1"])
    t.rows.append(
        Row(
            "pawsx v1.1",
            [
                Cell("-2.0 [-4.0, -0.0]", "*", mean=-2.0278, ci_low=-4.038, ci_high=-0.017),
                Cell("+1.3 [-0.4, +3.0]", mean=1.31, ci_low=-0.41, ci_high=3.04, p_value=0.11),
                Cell("73.9 ± 9.2 (56%)", mean=73.93, std=9.2),
            ],
        )
    )
    return {t.name: t}


def test_cell_references_render_with_labels_holding_dots_at_and_spaces() -> None:
    text = (
        'PAWS-X: {{cell "effects_xnli" "pawsx v1.1" "Clean"}} clean,\n'
        'and {{cell "effects_xnli" "pawsx v1.1" "keyboard@0.2" mean}} '
        '{{cell "effects_xnli" "pawsx v1.1" "keyboard@0.2" ci}} under keyboard@0.2 (p = '
        '{{cell "effects_xnli" "pawsx v1.1" "keyboard@0.2" p}}).\n'
    )
    res = check_answer(text, _tables())
    assert res.errors == []
    assert res.markdown.splitlines() == [
        "PAWS-X: -2.0 [-4.0, -0.0]* clean,",
        "and +1.3 [-0.4, +3.0] under keyboard@0.2 (p = 0.110).",
    ]
    assert [c.kind for c in res.cited] == ["cell"] * 4


def test_numbers_must_come_from_a_table_within_rounding() -> None:
    text = (
        "The gap fell by 2.0 points (to 1.31, 73.9 % of 56%).\n"  # all in the table
        "Here `0.123` in code and char_swap@0.1 and SQuAD v1.1 are not measurements.\n"
        "But it rose by 4.5 points.\n"  # no cell holds 4.5
        "And by 12%.\n"  # nor 12
    )
    res = check_answer(text, _tables(), where="ANSWER.md")
    assert [e.split(": ", 1)[0] for e in res.errors] == ["ANSWER.md:3", "ANSWER.md:4"]
    assert "4.5 matches no table cell" in res.errors[0] and "12%" in res.errors[1]
    # a literal that passes is listed with the cell it equals, for a reader to verify
    matched = {c.value: c.what for c in res.of("matched")}
    assert matched["1.31"] == "equals effects_xnli › pawsx v1.1 › keyboard@0.2"
    assert matched["56%"] == "equals effects_xnli › pawsx v1.1 › char_swap@0.1"


def test_missing_cells_are_errors_naming_the_line() -> None:
    text = 'ok\n{{cell "effects_xnli" "siqa" "Clean"}}\n{{cell "nope" "a" "b"}}\n{{cell "x"}}\n'
    res = check_answer(text, _tables(), where="A.md")
    assert [e.split(": ", 1)[0] for e in res.errors] == ["A.md:2", "A.md:3", "A.md:4"]
    assert "no row 'siqa'" in res.errors[0] and "no table 'nope'" in res.errors[1]


def test_literature_and_design_values_pass_and_are_listed_apart() -> None:
    text = (
        'Phang et al. found {{cite "Phang et al. (2020), Table 2" +5.4}} points on XNLI;\n'
        'we ran {{design "seeds per set-up" 3}} seeds at rate {{design "perturbation rate" 0.3}}'
        ' and {{config "evaluation" "max_examples"}} rows.\n'
    )
    res = check_answer(text, _tables(), config={"evaluation": {"max_examples": 200}})
    assert res.errors == []
    assert res.markdown.splitlines()[0] == (
        "Phang et al. found +5.4 (Phang et al. (2020), Table 2) points on XNLI;"
    )
    assert "rate 0.3 and 200 rows." in res.markdown
    listing = res.listing()
    lit = listing.index("From the literature")
    design = listing.index("Design values (chosen")
    assert lit < listing.index("+5.4 — Phang") < design
    assert listing.index("0.3 — perturbation rate") > design
    assert "200 — evaluation › max_examples" in listing


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("answer-run"))


def test_report_cli_rejects_an_unchecked_number(run, tmp_path, monkeypatch, capsys) -> None:
    """``xstilts report --answer`` (the console script's ``main``, in process)."""
    from xstilts.cli.main import main

    out = run
    bad = tmp_path / "ANSWER.md"
    bad.write_text(
        "### Short answer\n"
        'PAWS-X changed clean accuracy by {{cell "effects_xnli" "pawsx" "Clean" mean}} points.\n'
        "Under noise it gained 17.25 points.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "argv", ["xstilts", "report", str(out), "--answer", str(bad)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert f"{bad}:3: 17.25 matches no table cell" in lines[0]
    assert not (out / "report" / "report.md").exists()


@pytest.fixture(scope="module")
def passing_report(tmp_path_factory):
    from xstilts.report.build import write_report

    tmp = tmp_path_factory.mktemp("answer")
    out = make_run(tmp / "run")
    good = tmp / "ANSWER.md"
    good.write_text(
        'PAWS-X: {{cell "effects_xnli" "pawsx" "Clean"}} points clean '
        '(raw p {{cell "effects_xnli" "pawsx" "Clean" p}}, adjusted '
        '{{cell "effects_xnli" "pawsx" "Clean" p_adj}}); Phang et al. report '
        '{{cite "Phang et al., 2020" +5.4}} with {{design "seeds" 3}} seeds.\n',
        encoding="utf-8",
    )
    return write_report(out, answer=good)


def test_report_renders_the_answer_and_lists_its_numbers(passing_report) -> None:
    md = passing_report["report.md"].read_text(encoding="utf-8")
    ans = md[md.index("## Answer") : md.index("\n## ", md.index("## Answer"))]
    assert "{{" not in ans and "PAWS-X: +" in ans
    assert "### Numbers in this answer" in ans
    assert "+5.4 — Phang et al., 2020" in ans and "3 — seeds" in ans
    assert "effects_xnli › pawsx › Clean" in ans


def test_results_prints_the_effects(run, monkeypatch, capsys) -> None:
    """``xstilts results DIR --effects xnli``: the effect tables with their p-value tables."""
    from xstilts.cli.main import main

    monkeypatch.setattr(sys, "argv", ["xstilts", "results", str(run), "--effects", "xnli"])
    main()  # returns normally on success
    out = capsys.readouterr().out
    assert "**xnli: Δ accuracy vs. baseline" in out and "p-values of" in out
    assert "Power: minimum detectable effect" in out and "Holm" in out
