"""Study effect sizes: Δ vs. baseline and Δ gap per seed, and gaps by script and resource class.

The frame is built so the answers are known: the intermediate task adds exactly 2 points clean
in every language and seed, loses 1 point less under the perturbation, and the Thai gap is four
times the German one.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import row

from xstilts.report.effects import effect_tables, grouped_gap_table

LANGS = {"de": 0.0, "ru": 0.01, "hi": 0.02, "th": 0.03}  # per-language offset of the clean score
GAP = {"de": 0.02, "ru": 0.04, "hi": 0.06, "th": 0.08}  # baseline clean − perturbed
NOISE = {1: 0.0, 2: 0.004, 3: -0.006}  # per-seed wobble shared by both set-ups (paired design)


def _frame() -> pd.DataFrame:
    rows = []
    for inter, lift, less_gap in (("none", 0.0, 0.0), ("mnli", 0.02, 0.01)):
        for seed, wob in NOISE.items():
            for lang, off in {**LANGS, "en": 0.1}.items():
                clean = 0.6 + off + lift + wob
                gap = GAP.get(lang, 0.0) - less_gap
                common = {"intermediate": inter, "seed": seed, "language": lang, "split": "dev"}
                rows.append(row(**common, value=clean))
                rows.append(row(**common, perturbation="char_swap@0.2", value=clean - gap))
                if lang in ("de", "hi"):
                    rows.append(
                        row(
                            **common,
                            perturbation="attack:greedy@100",
                            metric="accuracy_under_attack",
                            value=clean - 0.3,
                        )
                    )
                    rows.append(  # the attacked rows before the attack: gaps are taken here
                        row(
                            **common,
                            perturbation="attack:greedy@100",
                            metric="clean_accuracy",
                            value=clean,
                        )
                    )
    return pd.DataFrame(rows)


def test_effect_tables_recover_the_built_in_effects():
    score, gap, rel = effect_tables(_frame(), "xnli", {"xnli": "accuracy"})
    assert score.columns == ["Clean", "char_swap@0.2", "attack:greedy@100"]
    (r,) = score.rows
    clean, pert, att = r.cells
    assert clean.mean == pytest.approx(2.0) and pert.mean == pytest.approx(3.0)
    assert att.mean == pytest.approx(2.0)  # the attack costs both set-ups 30 points
    # identical differences in every seed: zero spread, so no t-test and a zero-width interval
    assert clean.std == pytest.approx(0.0, abs=1e-9) and math.isnan(clean.p_value)
    (g,) = gap.rows
    assert g.cells[0].mean == pytest.approx(-1.0)  # loses one point less: more robust
    assert g.cells[1].mean == pytest.approx(0.0)
    assert rel.rows[0].cells[1].mean < 0  # same 30-point loss from a higher clean score


def test_effects_are_tested_over_seeds_when_they_vary():
    df = _frame()
    bump = (df["intermediate"] == "mnli") & (df["seed"] == 2)
    df.loc[bump, "value"] += 0.01  # seed 2 gains 3 points instead of 2
    score, *_ = effect_tables(df, "xnli", {"xnli": "accuracy"})
    c = score.rows[0].cells[0]
    assert c.mean == pytest.approx(7 / 3)
    assert c.ci_low < c.mean < c.ci_high and 0 < c.p_value < 0.05
    assert c.mark == "*"


def test_gap_by_script_and_resource():
    t = grouped_gap_table(_frame(), "xnli", {"xnli": "accuracy"}, by="script")
    assert [c.split(" (")[0] for c in t.columns] == ["Latin", "Cyrillic", "Devanagari", "Thai"]
    base = next(r for r in t.rows if r.kind == "baseline")
    assert [c.mean for c in base.cells] == pytest.approx([2.0, 4.0, 6.0, 8.0])
    inter = next(r for r in t.rows if r.kind != "baseline")
    assert [c.mean for c in inter.cells] == pytest.approx([1.0, 3.0, 5.0, 7.0])
    assert all(c.bold for c in inter.cells)  # smaller gap wins every column
    assert "(" in inter.cells[0].text and "%" in inter.cells[0].text  # relative gap shown

    res = grouped_gap_table(_frame(), "xnli", {"xnli": "accuracy"}, by="resource")
    # de is class 5, ru and hi class 4, th class 3: mean of ru/hi gaps in class 4
    assert [c.split(" (")[0] for c in res.columns] == ["class 5", "class 4", "class 3"]
    base = next(r for r in res.rows if r.kind == "baseline")
    assert [c.mean for c in base.cells] == pytest.approx([2.0, 5.0, 8.0])

    att = grouped_gap_table(_frame(), "xnli", {"xnli": "accuracy"}, by="language", attacks=True)
    assert att.columns == ["de", "hi"]  # only attacked languages
    assert all(c.mean == pytest.approx(30.0) for r in att.rows for c in r.cells)


def test_report_places_the_answer_and_the_effects(tmp_path):
    from xstilts.report.build import write_report_frame

    answer = (
        "### Short answer\nIntermediate training **helps**.\n\n- gap: -1.0 point per seed\n"
        '  - in <b>de</b>: -2.0\n\n| set-up | acc |\n|---|---|\n| baseline | {{design "example" 57.8}} |\n'
    )
    paths = write_report_frame(_frame(), tmp_path, main_metric={"xnli": "accuracy"}, answer=answer)
    md = paths["report.md"].read_text(encoding="utf-8")
    assert md.index("## Answer") < md.index("## Effects of intermediate training")
    # the Markdown as written, the design value rendered in place and listed apart
    assert answer.replace('{{design "example" 57.8}}', "57.8").strip() in md
    assert "- line 9: 57.8 — example" in md
    page = paths["report.html"].read_text(encoding="utf-8")
    start = page.index('<section id="answer">')
    sec = page[start : page.index("</section>", start)]
    assert "<h3>Short answer</h3>" in sec and "<strong>helps</strong>" in sec
    assert "<td>baseline</td>" in sec  # Markdown tables become HTML tables
    assert "<li>gap: -1.0 point per seed\n<ul>\n<li>in &lt;b&gt;de&lt;/b&gt;: -2.0</li>" in sec
    assert (tmp_path / "tables" / "gap_by_script_xnli.csv").exists()


def _align_frame() -> pd.DataFrame:
    """Pretrained vs. one intermediate task: retrieval drops 5 points at the last layer in
    Thai only, CKA with the pretrained encoder falls with depth."""
    rows = []
    for seed, wob in NOISE.items():
        for layer in (0, 1, 2):
            for inter in ("none", "mnli"):
                vals = {}
                for lang in ("de", "th"):
                    v = 0.5 + 0.1 * layer
                    if inter == "mnli" and lang == "th" and layer == 2:
                        v -= 0.05 + wob
                    vals[lang] = v
                vals["avg"] = sum(vals.values()) / 2
                for lang, v in vals.items():
                    rows.append(
                        row(intermediate=inter, target="none", seed=seed, task="tatoeba",
                            language=lang, metric="tatoeba_acc", value=v,
                            extra={"layer": layer, "checkpoint": inter})
                    )  # fmt: skip
                for lang in ("de", "th"):
                    rows.append(
                        row(intermediate=inter, target="none", seed=seed, task="tatoeba",
                            language=lang, metric="cka",
                            value=1.0 if inter == "none" else 1.0 - 0.1 * layer,
                            extra={"layer": layer, "checkpoint": inter})
                    )  # fmt: skip
    return pd.DataFrame(rows)


def test_alignment_effects_per_layer_and_script():
    from xstilts.report.effects import alignment_effects

    tables = {t.name: t for t in alignment_effects(_align_frame())}
    delta = tables["align_tatoeba_acc_tatoeba"]
    assert delta.columns == ["L0", "L1", "L2"]
    (r,) = delta.rows
    th = -(5 + 100 * sum(NOISE.values()) / len(NOISE))  # Thai's mean drop over seeds
    assert [c.mean for c in r.cells] == pytest.approx([0.0, 0.0, th / 2])  # avg of de and th
    assert r.cells[2].ci_low < th / 2 < r.cells[2].ci_high
    cka = tables["align_cka_tatoeba"]
    assert [c.mean for c in cka.rows[0].cells] == pytest.approx([1.0, 0.9, 0.8])
    by_script = tables["align_tatoeba_acc_tatoeba_L2_by_script"]
    assert [c.split(" (")[0] for c in by_script.columns] == ["Latin", "Thai"]
    assert [c.mean for c in by_script.rows[0].cells] == pytest.approx([0.0, th])
    assert by_script.rows[0].cells[1].mark == "**"
