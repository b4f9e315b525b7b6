"""``compare_models`` on hand-made step outputs: paired numbers, refusals, pairing of steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xstilts.errors import DataError
from xstilts.evaluation.robustness import compare_models, comparison_pairs, comparisons
from xstilts.perturb.metrics import mcnemar
from xstilts.stats.paired import cluster_bootstrap_ci, cluster_permutation_test


def _step(
    out: Path,
    key: str,
    inter: str,
    preds: dict[str, list[tuple[str, str, str]]],
    digest: str = "d",
    pert: str = "none",
    seed: int = 1,
) -> None:
    rows = []
    for lang, items in preds.items():
        pdir = out / "steps" / key / "predictions"
        pdir.mkdir(parents=True, exist_ok=True)
        (pdir / f"{lang}.jsonl").write_text(
            "".join(json.dumps({"id": i, "prediction": p, "gold": g}) + "\n" for i, p, g in items)
        )
        acc = float(np.mean([p == g for _, p, g in items]))
        rows.append(
            {
                "run_id": "r",
                "config_hash": "h",
                "model": "m",
                "intermediate": inter,
                "target": "xnli",
                "seed": seed,
                "task": "xnli",
                "language": lang,
                "split": "dev",
                "perturbation": pert,
                "metric": "accuracy",
                "value": acc,
                "step": key,
                "extra": {"n": len(items), "input_digest": f"{digest}-{lang}"},
            }
        )
    langs = [lang for lang in preds if lang != "en"]
    rows.append(
        {
            **rows[0],
            "language": "avg",
            "extra": {"languages": langs},
            "value": float(np.mean([r["value"] for r in rows if r["language"] in langs])),
        }
    )
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / f"{key}.json").write_text(json.dumps(rows))


def _preds(rng: np.random.Generator, n: int, p_correct: float, lang: str):
    out = []
    for i in range(n):
        ok = rng.random() < p_correct
        out.append((f"{lang}-{i}", "a" if ok else "b", "a"))
    return out


def test_compare_models_numbers_match_the_metrics(tmp_path):
    rng = np.random.default_rng(0)
    base = {lang: _preds(rng, 200, 0.5, lang) for lang in ("en", "de", "hi")}
    treat = {lang: _preds(rng, 200, 0.65, lang) for lang in ("en", "de", "hi")}
    _step(tmp_path, "evaluate-a", "none", base)
    _step(tmp_path, "evaluate-b", "pawsx", treat)
    rows = compare_models(tmp_path, "evaluate-a", "evaluate-b", n_resamples=500)
    got = {(r.language, r.metric): r.value for r in rows}
    assert {lang for lang, _ in got} == {"en", "de", "hi", "all"}
    for lang in ("de", "hi"):
        ca = np.array([p == g for _, p, g in sorted(base[lang])])  # paired by id
        cb = np.array([p == g for _, p, g in sorted(treat[lang])])
        d = cb.astype(float) - ca.astype(float)
        own = [f"{lang}/{i}" for i, _, _ in sorted(base[lang])]  # every example its own item
        _, low, _ = cluster_bootstrap_ci(d, own, n_resamples=500)
        assert got[(lang, "delta_vs_baseline")] == pytest.approx(cb.mean() - ca.mean())
        assert got[(lang, "delta_ci_low")] == pytest.approx(low)
        assert got[(lang, "mcnemar_p")] == pytest.approx(mcnemar(cb, ca).p_value)
        assert got[(lang, "paired_p")] == pytest.approx(
            cluster_permutation_test(d, own, n_resamples=2500)
        )
    # "all" pools every compared language (equal sizes: the mean of their deltas)
    assert got[("all", "delta_vs_baseline")] == pytest.approx(
        np.mean([got[(lang, "delta_vs_baseline")] for lang in ("en", "de", "hi")])
    )
    # xnli is parallel: row i of en, de and hi is one source item, resampled together; the pooled
    # examples are not independent, so there is no McNemar test for "all"
    assert ("all", "mcnemar_p") not in got
    assert got[("all", "paired_p")] < 0.01  # 0.5 -> 0.65 on 3 x 200 rows
    pooled = next(r for r in rows if r.language == "all")
    assert pooled.extra["n"] == 600 and pooled.extra["n_clusters"] == 200
    assert all(r.intermediate == "pawsx" and r.perturbation == "none" for r in rows)
    assert {r.kind for r in rows} == {"comparison"}


def test_avg_is_clustered_by_source_row(tmp_path):
    """Two languages that are exact copies (the strongest dependence): clustering by source row
    gives the interval of one language, pooling would give one √2 narrower."""
    rng = np.random.default_rng(3)
    one = [(str(i), "a" if rng.random() < 0.5 else "b", "a") for i in range(300)]
    two = [(str(i), "a" if rng.random() < 0.6 else "b", "a") for i in range(300)]
    copy = lambda items, lang: [(f"{lang}-{i}", p, g) for i, p, g in items]  # noqa: E731
    _step(tmp_path, "evaluate-a", "none", {lang: copy(one, lang) for lang in ("de", "fr")})
    _step(tmp_path, "evaluate-b", "pawsx", {lang: copy(two, lang) for lang in ("de", "fr")})
    got = {
        (r.language, r.metric): r.value
        for r in compare_models(tmp_path, "evaluate-a", "evaluate-b", n_resamples=2000)
    }
    width = lambda lang: got[(lang, "delta_ci_high")] - got[(lang, "delta_ci_low")]  # noqa: E731
    assert width("all") == pytest.approx(width("de"), rel=0.1)
    assert got[("all", "paired_p")] == pytest.approx(got[("de", "paired_p")], rel=0.2, abs=2e-3)


def test_compare_models_refuses_different_inputs(tmp_path):
    rng = np.random.default_rng(1)
    p = {"de": _preds(rng, 20, 0.5, "de")}
    _step(tmp_path, "evaluate-a", "none", p, digest="x")
    _step(tmp_path, "evaluate-b", "pawsx", p, digest="y")
    with pytest.raises(DataError, match="different inputs"):
        compare_models(tmp_path, "evaluate-a", "evaluate-b")
    _step(tmp_path, "evaluate-c", "pawsx", {"de": p["de"][:-1]}, digest="x")
    with pytest.raises(DataError, match="different examples"):
        compare_models(tmp_path, "evaluate-a", "evaluate-c")
    _step(tmp_path, "evaluate-d", "pawsx", p, digest="x", pert="char_swap@0.1")
    with pytest.raises(DataError, match="perturbation"):
        compare_models(tmp_path, "evaluate-a", "evaluate-d")


def test_write_comparisons_pairs_each_intermediate_with_its_baseline(tmp_path):
    rng = np.random.default_rng(2)
    for seed in (1, 2):
        for pert in ("none", "char_swap@0.3"):
            p = {"de": _preds(rng, 30, 0.5, "de")}
            _step(tmp_path, f"evaluate-n{seed}{pert[0]}", "none", p, f"{pert}", pert, seed)
            _step(tmp_path, f"evaluate-t{seed}{pert[0]}", "demo-nli", p, f"{pert}", pert, seed)
    pairs = comparison_pairs(tmp_path)
    assert sorted(pairs) == sorted(
        (f"evaluate-n{s}{c}", f"evaluate-t{s}{c}") for s in (1, 2) for c in "nc"
    )
    before = sorted(p.name for p in (tmp_path / "results").iterdir())
    rows = comparisons(tmp_path)
    assert len(rows) == 4 * 5  # 4 pairs x 5 metrics x de (one language: nothing to pool)
    assert {r.seed for r in rows} == {1, 2}
    # computed on read: the results store is left as it was
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == before


def test_report_reads_comparisons_without_storing_them(tmp_path):
    """The report computes the paired table from the saved predictions at read time."""
    from xstilts.report.build import read_results

    rng = np.random.default_rng(3)
    for inter, p in (("none", 0.5), ("demo-nli", 0.7)):
        preds = {lang: _preds(rng, 40, p, lang) for lang in ("de", "hi")}
        _step(tmp_path, f"evaluate-{inter}", inter, preds)
    before = sorted(x.name for x in (tmp_path / "results").iterdir())
    df = read_results(tmp_path)
    cmp = df[df["kind"] == "comparison"]
    assert set(cmp["language"]) == {"de", "hi", "all"} and set(cmp["intermediate"]) == {"demo-nli"}
    assert "avg" not in set(df["language"])  # the steps' stored averages are not read
    assert sorted(x.name for x in (tmp_path / "results").iterdir()) == before
