"""Paired comparisons of two models on the same (perturbed) inputs, from stored predictions.

Every evaluate step saves ``steps/<key>/predictions/<lang>.jsonl`` (``id``, ``prediction``,
``gold``) and its rows carry an ``input_digest`` per language. Two steps that saw the same inputs
(same target, split, perturbation and seed of the perturbation; the pipeline's perturbed copies
are cached once, so every model reads the same bytes) are compared example by example:

* ``delta_vs_baseline``: accuracy(b) − accuracy(a) (``b`` the treated model, ``a`` the baseline)
* ``delta_ci_low`` / ``delta_ci_high``: percentile paired-bootstrap interval of that difference
  (the same resampled example indices for both models)
* ``mcnemar_p``: McNemar's test on the paired correctness (exact below 25 discordant pairs)

per language and for ``avg``: the examples of the non-English languages pooled (equal to the mean
of the per-language deltas when the languages have equal sizes, as with ``max_examples``). Rows
take the treated step's labels (intermediate, seed, perturbation), so the report can show one
line per intermediate task and seed against the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.errors import DataError
from xstilts.perturb.metrics import mcnemar, paired_bootstrap
from xstilts.rows import ResultRow, ResultsStore

COMPARE_METRICS = ("delta_vs_baseline", "delta_ci_low", "delta_ci_high", "mcnemar_p")
BASELINE = "none"


def read_predictions(step_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """``{language: [{"id", "prediction", "gold"}, ...]}`` of one finished evaluate step."""
    pdir = Path(step_dir) / "predictions"
    if not pdir.is_dir():
        raise DataError("no saved predictions (evaluation.save_predictions off?)", where=str(pdir))
    out = {}
    for path in sorted(pdir.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            out[path.stem] = [json.loads(line) for line in fh if line.strip()]
    return out


def correct(rows: list[dict[str, Any]]) -> dict[str, bool]:
    """``{id: prediction == gold}`` (accuracy's per-example score)."""
    return {str(r["id"]): r["prediction"] == r["gold"] for r in rows}


def _step_rows(out_dir: Path, key: str) -> list[dict[str, Any]]:
    path = ResultsStore(out_dir).dir / f"{key}.json"
    if not path.exists():
        raise DataError(f"no result rows for step {key}", where=str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def _digests(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {
        r["language"]: r["extra"]["input_digest"]
        for r in rows
        if isinstance(r.get("extra"), dict) and r["extra"].get("input_digest")
    }


def _pair(ca: dict[str, bool], cb: dict[str, bool], where: str) -> tuple[np.ndarray, np.ndarray]:
    if set(ca) != set(cb):
        raise DataError(
            f"the two models were evaluated on different examples ({len(ca)} vs {len(cb)} ids, "
            f"{len(set(ca) ^ set(cb))} not shared)",
            where=where,
        )
    ids = sorted(ca)
    return np.array([ca[i] for i in ids], bool), np.array([cb[i] for i in ids], bool)


def compare_models(
    out_dir: str | Path,
    a: str,
    b: str,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ResultRow]:
    """Paired comparison of evaluate step ``b`` (treated) against step ``a`` (baseline).

    ``a`` and ``b`` are step keys (``evaluate-…``) of ``out_dir``. Both must have seen identical
    inputs per language (checked with the stored input digests when both have them, and always
    with the example ids); otherwise :class:`DataError`.
    """
    out_dir = Path(out_dir)
    root = out_dir / "steps"
    ra, rb = _step_rows(out_dir, a), _step_rows(out_dir, b)
    pa, pb = read_predictions(root / a), read_predictions(root / b)
    da, db = _digests(ra), _digests(rb)
    lab = next(r for r in rb if r["language"] != "avg")
    base_lab = next(r for r in ra if r["language"] != "avg")
    for k in ("task", "split", "perturbation"):
        if lab[k] != base_lab[k]:
            raise DataError(f"steps differ in {k}: {base_lab[k]!r} vs {lab[k]!r}", where=f"{a}/{b}")
    # the languages the pipeline averages (non-training languages), as its ``avg`` row says
    avg_langs = next(
        (r["extra"].get("languages", []) for r in ra if r["language"] == "avg" and r["extra"]), []
    )
    split_of = {r["language"]: r["split"] for r in rb}
    rows: list[ResultRow] = []
    pooled_a: list[np.ndarray] = []
    pooled_b: list[np.ndarray] = []

    def emit(lang: str, xa: np.ndarray, xb: np.ndarray, extra: dict[str, Any]) -> None:
        ci = paired_bootstrap(
            xb.astype(float),
            xa.astype(float),
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        mc = mcnemar(xb, xa)
        info = {
            **extra,
            "n": int(xa.size),
            "accuracy": float(xb.mean()),
            "baseline_accuracy": float(xa.mean()),
            "baseline": base_lab["intermediate"],
            "baseline_step": a,
            "treated_step": b,
            "confidence": confidence,
            "n_resamples": n_resamples,
            "mcnemar": {"b": mc.b, "c": mc.c, "statistic": mc.statistic, "method": mc.method},
        }
        values = {
            "delta_vs_baseline": ci.difference,
            "delta_ci_low": ci.low,
            "delta_ci_high": ci.high,
            "mcnemar_p": mc.p_value,
        }
        for metric in COMPARE_METRICS:
            rows.append(
                ResultRow(
                    run_id=lab["run_id"],
                    config_hash=lab["config_hash"],
                    model=lab["model"],
                    intermediate=lab["intermediate"],
                    target=lab["target"],
                    seed=int(lab["seed"]),
                    task=lab["task"],
                    language=lang,
                    split=split_of.get(lang, lab["split"]),
                    perturbation=lab["perturbation"],
                    metric=metric,
                    value=float(values[metric]),
                    step=f"compare-{a}-{b}",
                    extra=info,
                )
            )

    for lang in sorted(set(pa) & set(pb)):
        if lang in da and lang in db and da[lang] != db[lang]:
            raise DataError(
                f"{lang}: the two models saw different inputs (digests {da[lang][:12]} vs "
                f"{db[lang][:12]})",
                where=f"{a} vs {b}",
            )
        xa, xb = _pair(correct(pa[lang]), correct(pb[lang]), f"{a} vs {b} ({lang})")
        emit(lang, xa, xb, {"input_digest": db.get(lang)})
        if lang in avg_langs:
            pooled_a.append(xa)
            pooled_b.append(xb)
    if pooled_a:
        emit(
            "avg",
            np.concatenate(pooled_a),
            np.concatenate(pooled_b),
            {"languages": [lang for lang in sorted(set(pa) & set(pb)) if lang in avg_langs]},
        )
    return rows


def _evaluate_steps(out_dir: Path) -> list[dict[str, Any]]:
    """One record per finished evaluate step with its labels (from its first row)."""
    store = ResultsStore(out_dir)
    out = []
    if not store.dir.is_dir():
        return out
    for path in sorted(store.dir.glob("evaluate-*.json")):
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not rows or not (out_dir / "steps" / path.stem / "predictions").is_dir():
            continue
        r = rows[0]
        out.append(
            {
                k: r[k]
                for k in (
                    "model",
                    "intermediate",
                    "target",
                    "task",
                    "seed",
                    "split",
                    "perturbation",
                )
            }
            | {"key": path.stem}
        )
    return out


def comparison_pairs(out_dir: str | Path) -> list[tuple[str, str]]:
    """(baseline step, treated step) for every intermediate task's evaluate step whose baseline
    twin (same model, target, seed, split, perturbation; intermediate ``none``) exists."""
    steps = _evaluate_steps(Path(out_dir))
    ident = ("model", "target", "task", "seed", "split", "perturbation")
    base = {tuple(s[k] for k in ident): s["key"] for s in steps if s["intermediate"] == BASELINE}
    pairs = []
    for s in steps:
        if s["intermediate"] == BASELINE:
            continue
        k = base.get(tuple(s[k] for k in ident))
        if k is not None:
            pairs.append((k, s["key"]))
    return pairs


def write_comparisons(
    out_dir: str | Path, pairs: Iterable[tuple[str, str]] | None = None, **kw: Any
) -> list[Path]:
    """Compare every intermediate set-up with the baseline and store the rows (one results file
    per pair, ``results/compare-<hash>.json``; rewritten each time, so it follows re-runs)."""
    from xstilts.data.sources import content_key

    out_dir = Path(out_dir)
    store = ResultsStore(out_dir)
    written = []
    for a, b in comparison_pairs(out_dir) if pairs is None else pairs:
        rows = compare_models(out_dir, a, b, **kw)
        if rows:
            written.append(store.write(f"compare-{content_key(a, b)}", rows))
    return written
