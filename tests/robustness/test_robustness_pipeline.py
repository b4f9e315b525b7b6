"""Robustness end to end: real offline encoder, real XNLI / PAN-X / Stickland data, the CLI.

See ``conftest.py`` for the runs (sizes, what is shared). Every check reads what the pipeline
stored: result rows, saved predictions, the perturbed copies in its cache, attack logs, report.
"""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from robust_runs import (
    ATTACK_BUDGETS,
    ATTACK_LANGS,
    CHAR_PERTURBATIONS,
    SWEEP_LANGS,
    SWEEP_RATES,
    SWEEP_ROWS,
    xstilts,
)

from xstilts.experiments.pipeline import input_digest
from xstilts.perturb.metrics import mcnemar

pytestmark = pytest.mark.full


def _eval_rows(rows, metric="accuracy", **where):
    return [
        r
        for r in rows
        if r["step"].startswith("evaluate-")
        and r["metric"] == metric
        and all(r[k] == v for k, v in where.items())
    ]


def _one(rows, **where):
    got = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(got) == 1, (where, len(got))
    return got[0]


# -- scripts -------------------------------------------------------------------------------------


def _script(ch: str) -> str | None:
    """The script of a letter or mark from its Unicode name (None: not a letter/mark, or a
    script-neutral combining mark)."""
    if unicodedata.category(ch)[0] not in "LM":
        return None
    name = unicodedata.name(ch, "")
    first = name.split(" ")[0]
    if first in ("COMBINING", "MODIFIER"):
        return None
    return {"CJK": "Han"}.get(first, first)


def _scripts(text: str) -> set[str]:
    return {s for s in map(_script, text) if s}


def _orphan_marks(text: str) -> int:
    """Combining marks with no base: at the start, or after a space or invisible character."""
    n = 0
    for i, ch in enumerate(text):
        if unicodedata.category(ch)[0] == "M" and (
            i == 0 or text[i - 1].isspace() or unicodedata.category(text[i - 1]) in ("Cf", "Zs")
        ):
            n += 1
    return n


def _texts(ex: dict) -> list[str]:
    if "tokens" in ex:
        return list(ex["tokens"])
    return [ex[k] for k in ("text_a", "text_b") if isinstance(ex.get(k), str)]


def _cached_copies(cache: Path) -> dict[str, list[dict]]:
    """input digest -> examples, for every perturbed copy in the pipeline's cache."""
    out = {}
    for path in (cache / "perturbed").glob("*.json"):
        ex = json.loads(path.read_text(encoding="utf-8"))["examples"]
        out[input_digest(ex)] = ex
    return out


@pytest.mark.parametrize("run_name", ["scripts", "scripts_ta"])
def test_char_perturbations_keep_script_on_evaluated_copies(runs, run_name, shared_data):
    """Hindi, Thai, Tamil, Chinese, Arabic, German: every character perturbation the pipeline
    evaluated gives valid text in the same script (homoglyph excepted: cross-script by design)."""
    from xstilts.data.sources import load_examples
    from xstilts.tasks.registry import get_task

    run = runs.get(run_name)
    rows = [
        r for r in run.rows() if r["step"].startswith("evaluate-") and "input_digest" in r["extra"]
    ]
    copies = _cached_copies(run.cache)
    target = run.config["target"]
    spec = get_task(target)
    langs = run.config["evaluation"]["languages"]
    changed = defaultdict(int)
    checked = 0
    for name in CHAR_PERTURBATIONS:
        for lang in langs:
            got = {
                r["extra"]["input_digest"]
                for r in rows
                if r["perturbation"] == f"script:{name}" and r["language"] == lang
            }
            assert len(got) == 1, (name, lang, got)
            digest = got.pop()
            # the copy the model saw is the one in the cache, byte for byte (same digest)
            assert digest in copies, f"{name}/{lang}: evaluated copy not in the perturbed cache"
            pert = copies[digest]
            clean, _ = load_examples(spec, "dev", lang, shared_data, limit=8)
            assert [e["id"] for e in pert] == [e["id"] for e in clean]
            for e0, e1 in zip(clean, pert, strict=True):
                assert e1.get("label", e1.get("tags")) == e0.get("label", e0.get("tags"))
                for t0, t1 in zip(_texts(e0), _texts(e1), strict=True):
                    checked += 1
                    t1.encode("utf-8")  # no lone surrogates
                    assert "\ufffd" not in t1 or "\ufffd" in t0
                    assert (
                        unicodedata.is_normalized("NFC", t1)
                        or not unicodedata.is_normalized("NFC", t0)
                        or name == "homoglyph"
                    ), (name, lang, t1)
                    assert _orphan_marks(t1) <= _orphan_marks(t0), (name, lang, t0, t1)
                    if name != "homoglyph":
                        extra = _scripts(t1) - _scripts(t0)
                        assert not extra, f"{name}/{lang}: {extra} in {t1!r} (from {t0!r})"
                    changed[(name, lang)] += t0 != t1
    assert checked > 0
    # not vacuous: every editing perturbation changed text in every language where it can act
    # (no keyboard layout for Chinese: pinyin input has no key neighbours; PAN-X's Chinese tokens
    # are single characters, so no word has two graphemes to swap or one to spare)
    from xstilts.perturb.keyboard import layout_for

    multi = {lang: _has_multi_grapheme_word(spec, lang, shared_data) for lang in langs}
    for name in (
        "char_swap",
        "char_delete",
        "char_insert",
        "char_substitute",
        "keyboard",
        "zero_width",
        "whitespace",
    ):
        for lang in langs:
            if name == "keyboard" and layout_for(lang) is None:
                assert changed[(name, lang)] == 0  # and then it must not pretend
                continue
            if name == "whitespace" and spec.family == "tagging":
                # splitting or merging a token would misalign its tag: reverted, by design
                assert changed[(name, lang)] == 0
                continue
            if name in ("char_swap", "char_delete", "zero_width") and not multi[lang]:
                continue  # each needs a word of two graphemes (zero-width: inside a word)
            assert changed[(name, lang)] > 0, f"{name} changed nothing in {lang}"
    if "de" in langs:  # German umlauts are stripped exactly where the rows have any
        clean, _ = load_examples(spec, "dev", "de", shared_data, limit=8)
        marked = any(unicodedata.normalize("NFD", t) != t for e in clean for t in _texts(e))
        assert (changed[("diacritics", "de")] > 0) == marked


def _has_multi_grapheme_word(spec, lang: str, data: Path) -> bool:
    import regex

    from xstilts.data.sources import load_examples

    ex, _ = load_examples(spec, "dev", lang, data, limit=8)
    words = [w for e in ex for t in _texts(e) for w in t.split()]
    return any(len(regex.findall(r"\X", w)) >= 2 for w in words)


def test_same_seed_same_bytes_different_seed_different(runs, shared_data, tmp_path, monkeypatch):
    """Re-making a perturbed copy in a fresh cache gives the pipeline's bytes; another seed not."""
    from xstilts.data.sources import load_examples
    from xstilts.experiments.perturbed import perturb_examples
    from xstilts.tasks.registry import get_task

    run = runs.get("scripts")
    spec = get_task("xnli")
    pipeline_files = {p.name: p.read_bytes() for p in (run.cache / "perturbed").glob("*.json")}
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path))
    for lang in ("hi", "th"):
        clean, fp = load_examples(spec, "dev", lang, shared_data, limit=8)
        pert = {
            "name": "char_swap",
            "params": {"rate": 0.3},
            "seed": 3,
            "fields": None,
            "label": "script:char_swap",
        }
        a, _ = perturb_examples(clean, spec, pert, lang, source_fp=fp)
        new = list((tmp_path / "perturbed").glob("*.json"))
        mine = {p.name: p.read_bytes() for p in new}
        same = [n for n in mine if n in pipeline_files]
        assert same, "same (data, lang, perturbation, seed) must give the pipeline's cache key"
        assert all(mine[n] == pipeline_files[n] for n in same)
        b, _ = perturb_examples(clean, spec, {**pert, "seed": 4}, lang, source_fp=fp)
        assert json.dumps(a, ensure_ascii=False) != json.dumps(b, ensure_ascii=False)
        for p in new:
            p.unlink()


# -- identical inputs across models, real typos --------------------------------------------------


def test_models_in_one_run_see_identical_inputs(runs):
    run = runs.get("grid")
    rows = _eval_rows(run.rows())
    by = defaultdict(set)
    models = defaultdict(set)
    for r in rows:
        if r["language"] == "avg":
            continue
        by[(r["perturbation"], r["language"])].add(r["extra"]["input_digest"])
        models[(r["perturbation"], r["language"])].add((r["intermediate"], r["seed"]))
    assert set(by) == {
        (p, lang) for p in ("none", "char_substitute@0.3", "real_typos") for lang in ("de", "hi")
    }
    for key, digests in by.items():
        assert models[key] == {(i, s) for i in ("none", "demo-nli") for s in (1, 2)}, key
        assert len(digests) == 1, f"{key}: the four checkpoints saw different inputs"
    for lang in ("de", "hi"):
        d = [next(iter(by[(p, lang)])) for p in ("none", "char_substitute@0.3", "real_typos")]
        assert len(set(d)) == 3, "clean, synthetic and real noise must be different inputs"
        # and the same rows (ids) every time, clean and noisy
        ids = set()
        for r in rows:
            if r["language"] == lang:
                ids.add(tuple(p["id"] for p in run.predictions(r["step"], lang)))
        assert len(ids) == 1


def test_real_typos_swap_in_noisy_twins_on_the_same_rows(runs, shared_data):
    """The real_typos evaluation reads the Stickland noisy twin of exactly the clean rows."""
    from xstilts.data.sources import load_examples
    from xstilts.tasks.registry import get_task

    run = runs.get("grid")
    rows = _eval_rows(run.rows(), intermediate="none", seed=1)
    spec = get_task("xnli-typos")
    copies = {}
    for lang in ("de", "hi"):
        clean = _one(rows, perturbation="none", language=lang)
        noisy = _one(rows, perturbation="real_typos", language=lang)
        assert clean["extra"]["n"] == noisy["extra"]["n"] == 80
        pc = run.predictions(clean["step"], lang)
        pn = run.predictions(noisy["step"], lang)
        assert [p["id"] for p in pc] == [p["id"] for p in pn]
        assert [p["gold"] for p in pc] == [p["gold"] for p in pn]
        # the digest of the twins as the data files give them is what the model saw
        twins, _ = load_examples(spec, "typos", lang, shared_data)
        by_id = {t["id"]: t for t in twins}
        cl, _ = load_examples(spec, "test", lang, shared_data, limit=80)
        swapped = [
            {**e, "text_a": by_id[e["id"]]["text_a"], "text_b": by_id[e["id"]]["text_b"]}
            for e in cl
        ]
        assert input_digest(swapped) == noisy["extra"]["input_digest"]
        assert input_digest(cl) == clean["extra"]["input_digest"]
        copies[lang] = sum(a != b for a, b in zip(cl, swapped, strict=True))
    assert all(v >= 70 for v in copies.values()), copies  # nearly every twin has a typo


def test_stickland_twins_pair_with_their_clean_rows(shared_data):
    """Data level, all six languages: clean side == the xnli test row its id names; noisy side
    is that row with a few real typos (same label)."""
    import difflib

    from xstilts.data.sources import load_examples
    from xstilts.tasks.registry import get_task

    spec = get_task("xnli-typos")
    expected = {"de": 658, "en": 5010, "es": 687, "fr": 974, "hi": 3709, "tr": 4420}
    for lang, n in expected.items():
        clean, _ = load_examples(spec, "test", lang, shared_data)
        noisy, _ = load_examples(spec, "typos", lang, shared_data)
        assert len(clean) == len(noisy) == n
        raw = (shared_data / "xnli" / f"test-{lang}.tsv").read_text(encoding="utf-8").split("\n")
        ratios = []
        for c, z in zip(clean, noisy, strict=True):
            assert c["id"] == z["id"] and c["label"] == z["label"]
            row = int(c["id"].rsplit("-", 1)[1])
            p, h, label = raw[row].split("\t")
            assert (c["text_a"], c["text_b"], c["label"]) == (p, h, label.strip())
            if lang in ("de", "es"):
                ratios.append(
                    difflib.SequenceMatcher(
                        None, c["text_a"] + c["text_b"], z["text_a"] + z["text_b"], autojunk=False
                    ).ratio()
                )
        if ratios:
            assert min(ratios) > 0.7 and np.median(ratios) > 0.95, lang
            assert np.mean([r < 1.0 for r in ratios]) > 0.95


# -- accuracy vs perturbation rate ---------------------------------------------------------------


def test_accuracy_drops_as_perturbation_rate_rises(runs):
    run = runs.get("sweep")
    rows = _eval_rows(run.rows())
    table = {}
    for lang in SWEEP_LANGS:
        clean = _one(rows, perturbation="none", language=lang)
        accs = [clean["value"]]
        steps = [clean["step"]]
        for rate in SWEEP_RATES:
            r = _one(rows, perturbation=f"char_substitute@{rate}", language=lang)
            assert r["extra"]["n"] == SWEEP_ROWS
            accs.append(r["value"])
            steps.append(r["step"])
        table[lang] = accs
        # far from chance when clean, so there is something to lose
        assert accs[0] > 0.40, (lang, accs)
        # monotone within noise: no rise above 2 paired standard errors (~0.045 at n=300)
        for a, b in zip(accs, accs[1:], strict=False):
            assert b <= a + 0.045, (lang, accs)
        # a significant drop from clean to the highest rate (paired, same rows)
        pc, ph = run.predictions(steps[0], lang), run.predictions(steps[-1], lang)
        assert [p["id"] for p in pc] == [p["id"] for p in ph]
        ca = np.array([p["prediction"] == p["gold"] for p in pc])
        cb = np.array([p["prediction"] == p["gold"] for p in ph])
        test = mcnemar(ca, cb)
        assert ca.mean() - cb.mean() > 0.05 and test.p_value < 0.01, (lang, accs, test)
    print("accuracy by rate (0, " + ", ".join(map(str, SWEEP_RATES)) + "):", table)


# -- attacks -------------------------------------------------------------------------------------


def test_attack_success_rises_with_budget_and_queries_are_real(runs):
    run = runs.get("sweep")
    rows = [r for r in run.rows() if r["step"].startswith("attack-")]
    success = {}
    for lang in ATTACK_LANGS:
        for b in ATTACK_BUDGETS:
            label = f"attack:greedy@{b}"
            sr = _one(rows, perturbation=label, language=lang, metric="attack_success_rate")
            aq = _one(rows, perturbation=label, language=lang, metric="avg_queries")
            log = json.loads(
                (run.step_dir(sr["step"]) / "attacks" / f"{lang}.json").read_text(encoding="utf-8")
            )
            res = log["results"]
            assert len(res) == sr["extra"]["n"] == 40
            # queries counted == examples the model actually ran on (ModelVictim.forward_examples)
            assert sum(r["queries"] for r in res) == sr["extra"]["forward_examples"]
            assert all(1 <= r["queries"] <= b for r in res)
            attacked = [r for r in res if r["status"] != "skipped"]
            assert aq["value"] == pytest.approx(np.mean([r["queries"] for r in attacked]))
            assert max(r["queries"] for r in attacked) > 1
            success[(lang, b)] = (
                sum(r["status"] == "successful" for r in attacked),
                len(attacked),
                sr["value"],
            )
    for lang in ATTACK_LANGS:
        rates = [success[(lang, b)][2] for b in ATTACK_BUDGETS]
        assert all(y >= x for x, y in zip(rates, rates[1:], strict=False)), (lang, rates)
    lo = sum(success[(lang, ATTACK_BUDGETS[0])][0] for lang in ATTACK_LANGS)
    hi = sum(success[(lang, ATTACK_BUDGETS[-1])][0] for lang in ATTACK_LANGS)
    n = sum(success[(lang, ATTACK_BUDGETS[-1])][1] for lang in ATTACK_LANGS)
    assert hi > lo and hi / n - lo / n >= 0.1, success
    print("attack successes (successful, attacked, rate):", success)


def test_model_victim_counts_real_forward_examples(runs, shared_data):
    """``ModelVictim.forward_examples`` equals the rows the encoder really ran on."""
    import torch

    from xstilts.data.sources import load_examples
    from xstilts.experiments.perturbed import ModelVictim
    from xstilts.experiments.pipeline import _ref, build_model
    from xstilts.models.model import load_state
    from xstilts.perturb.attack import AttackConfig, run_attack
    from xstilts.tasks.registry import get_task

    run = runs.get("sweep")
    ckpt = next(p for p in (run.out / "steps").glob("train-*") if (p / "done.json").exists())
    params = json.loads((ckpt / "done.json").read_text())["params"]
    model, tok = build_model(_ref(params), params)
    load_state(model, ckpt, encoder_only=False)
    model.eval()
    seen = []
    hook = model.encoder.register_forward_hook(
        lambda mod, args, kw, out: seen.append(
            int(kw.get("input_ids", args[0] if args else None).shape[0])
        ),
        with_kwargs=True,
    )
    spec = get_task("xnli")
    ex, _ = load_examples(spec, "dev", "de", shared_data, limit=4)
    ex = [{**e, "label": spec.labels.index(e["label"])} for e in ex]
    victim = ModelVictim(model, tok, spec, 64, 8)
    with torch.inference_mode():
        out = run_attack(
            victim,
            ex,
            "classification",
            "de",
            AttackConfig(query_budget=25, candidates_per_word=2, fields=["text_b"]),
        )
    hook.remove()
    assert sum(seen) == victim.forward_examples == sum(r.queries for r in out.results) > len(ex)


# -- robustness table with confidence intervals --------------------------------------------------


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_robustness_table_baseline_vs_intermediate_with_cis(runs):
    run = runs.get("grid")
    res = xstilts("report", str(run.out), cache=run.cache)
    assert res.returncode == 0, res.stderr
    rows = run.rows()
    acc = {
        (r["intermediate"], r["seed"], r["perturbation"], r["language"]): r["value"]
        for r in _eval_rows(rows)
    }
    assert not [k for k in acc if k[3] == "avg"]  # steps store languages; averages on read
    for inter, seed, pert, _ in list(acc):  # de and hi have equal sizes: pooled = mean
        acc[(inter, seed, pert, "avg")] = np.mean(
            [acc[(inter, seed, pert, x)] for x in ("de", "hi")]
        )
    cmp = [r for r in rows if r["step"].startswith("compare-")]
    perts = ("none", "char_substitute@0.3", "real_typos")
    for seed in (1, 2):
        for p in perts:
            for lang in ("de", "hi", "avg"):
                got = {
                    r["metric"]: r
                    for r in cmp
                    if (r["seed"], r["perturbation"], r["language"]) == (seed, p, lang)
                }
                assert set(got) == {
                    "delta_vs_baseline",
                    "delta_ci_low",
                    "delta_ci_high",
                    "mcnemar_p",
                }, (seed, p, lang)
                d = got["delta_vs_baseline"]
                assert d["intermediate"] == "demo-nli"
                # consistent with the evaluate rows (avg: equal-size languages pooled = mean)
                want = acc[("demo-nli", seed, p, lang)] - acc[("none", seed, p, lang)]
                assert d["value"] == pytest.approx(want, abs=1e-9)
                lo, hi = got["delta_ci_low"]["value"], got["delta_ci_high"]["value"]
                assert lo <= d["value"] <= hi and hi - lo > 0
                assert 0.0 <= got["mcnemar_p"]["value"] <= 1.0
                # McNemar recomputed from the saved predictions
                if lang == "de":
                    ex = d["extra"]
                    pa = run.predictions(ex["baseline_step"], lang)
                    pb = run.predictions(ex["treated_step"], lang)
                    t = mcnemar(
                        [x["prediction"] == x["gold"] for x in pb],
                        [x["prediction"] == x["gold"] for x in pa],
                    )
                    assert got["mcnemar_p"]["value"] == pytest.approx(t.p_value)
    tables = run.out / "report" / "tables"
    rob = _csv(tables / "robustness_xnli-typos.csv")
    labels = {r["row"] for r in rob}
    assert labels == {"Baseline", "demo-nli"}
    for r in rob:
        assert r["column"] in ("Clean", "char_substitute@0.3", "real_typos", "Gap")
        assert int(r["n"]) == 2 and "[" in r["text"]  # 2 seeds: mean ± std [t-interval]
        assert float(r["ci_low"]) <= float(r["mean"]) <= float(r["ci_high"])
    for inter, label in (("none", "Baseline"), ("demo-nli", "demo-nli")):
        for p, col in (("none", "Clean"), ("real_typos", "real_typos")):
            cell = next(r for r in rob if r["row"] == label and r["column"] == col)
            mean = np.mean([acc[(inter, s, p, "avg")] for s in (1, 2)]) * 100
            assert float(cell["mean"]) == pytest.approx(mean)
    paired = _csv(tables / "paired_xnli-typos.csv")
    assert {r["row"] for r in paired} == {"demo-nli (seed 1)", "demo-nli (seed 2)"}
    assert {r["column"] for r in paired} == {"Clean", "char_substitute@0.3", "real_typos"}
    for r in paired:
        assert float(r["ci_low"]) <= float(r["mean"]) <= float(r["ci_high"])
        assert not math.isnan(float(r["p_value"]))
    md = (run.out / "report" / "report.md").read_text(encoding="utf-8")
    assert "Δ accuracy vs. baseline on identical inputs" in md
    print((tables / "robustness_xnli-typos.csv").read_text())
    print((tables / "paired_xnli-typos.csv").read_text())
