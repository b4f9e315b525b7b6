"""Paired comparisons of two models on the same (perturbed) inputs, from stored predictions.

Every evaluate step saves ``steps/<key>/predictions/<lang>.jsonl`` (``id``, ``prediction``,
``gold``) and its rows carry an ``input_digest`` per language. Two steps that saw the same inputs
(same target, split, perturbation and seed of the perturbation; the pipeline's perturbed copies
are cached once, so every model reads the same bytes) are compared example by example:

* ``delta_vs_baseline``: accuracy(b) − accuracy(a) (``b`` the treated model, ``a`` the baseline)
* ``delta_ci_low`` / ``delta_ci_high``: percentile paired-bootstrap interval of that difference
  (the same resampled items for both models)
* ``paired_p``: paired sign-flip permutation test of that difference
* ``mcnemar_p``: McNemar's test on the paired correctness (exact below 25 discordant pairs), only
  where the items are independent

per language and for ``all``: the examples of every language both steps scored pooled (equal to
the mean of the per-language deltas when the languages have equal sizes, as with
``max_examples``). For ``all`` of a task whose languages translate the same source rows
(``parallel: true``), the bootstrap and the permutation resample *source rows* (all language
versions of a row together, ``xstilts.stats.paired``): pooling them as independent examples made
the p-values too small. There is no McNemar row for such a pooled comparison. Rows
(``kind="comparison"``) take the treated step's labels (intermediate, seed, perturbation), so the
report can show one line per intermediate task and seed against the baseline. They are computed
when a report is read (:func:`comparisons`), never stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.errors import DataError
from xstilts.perturb.metrics import mcnemar
from xstilts.rows import ResultRow, ResultsStore
from xstilts.stats.items import read_predictions, source_items
from xstilts.stats.paired import paired_compare

COMPARE_METRICS = ("delta_vs_baseline", "delta_ci_low", "delta_ci_high", "paired_p", "mcnemar_p")
BASELINE = "none"
POOLED = "all"  # the language of a comparison over every compared language's examples


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


def _pair(
    ca: dict[str, bool], cb: dict[str, bool], where: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    if set(ca) != set(cb):
        raise DataError(
            f"the two models were evaluated on different examples ({len(ca)} vs {len(cb)} ids, "
            f"{len(set(ca) ^ set(cb))} not shared)",
            where=where,
        )
    ids = sorted(ca)
    return ids, np.array([ca[i] for i in ids], bool), np.array([cb[i] for i in ids], bool)


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
    split_of = {r["language"]: r["split"] for r in rb}
    from xstilts.tasks.registry import get_task

    parallel = get_task(str(lab["task"]), where=f"{a}/{b}").parallel
    rows: list[ResultRow] = []
    pooled: list[tuple[str, list[str], np.ndarray, np.ndarray]] = []

    def emit(
        lang: str,
        xa: np.ndarray,
        xb: np.ndarray,
        clusters: list[str],
        weights: np.ndarray | None,
        extra: dict[str, Any],
        independent: bool,
    ) -> None:
        res = paired_compare(
            xb.astype(float),
            xa.astype(float),
            clusters,
            weights,
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
            bounds=(-1.0, 1.0),
        )
        mc = mcnemar(xb, xa) if independent else None
        info = {
            **extra,
            "n": int(xa.size),
            "n_clusters": res.n_clusters,
            "accuracy": float(xb.mean()),
            "baseline_accuracy": float(xa.mean()),
            "baseline": base_lab["intermediate"],
            "baseline_step": a,
            "treated_step": b,
            "confidence": confidence,
            "n_resamples": n_resamples,
        }
        if mc is not None:
            info["mcnemar"] = {"b": mc.b, "c": mc.c, "statistic": mc.statistic, "method": mc.method}
        values = {
            "delta_vs_baseline": res.difference,
            "delta_ci_low": res.low,
            "delta_ci_high": res.high,
            "paired_p": res.p_value,
        }
        if mc is not None:
            values["mcnemar_p"] = mc.p_value
        for metric in COMPARE_METRICS:
            if metric not in values:
                continue
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
                    kind="comparison",
                    params=dict(lab.get("params") or {}),
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
        ids, xa, xb = _pair(correct(pa[lang]), correct(pb[lang]), f"{a} vs {b} ({lang})")
        # within one language every example is its own item: McNemar applies
        emit(lang, xa, xb, [f"{lang}/{i}" for i in ids], None, {"input_digest": db.get(lang)}, True)
        pooled.append((lang, ids, xa, xb))
    if len(pooled) > 1:
        emit(
            POOLED,
            np.concatenate([p[2] for p in pooled]),
            np.concatenate([p[3] for p in pooled]),
            [c for lang, ids, _, _ in pooled for c in source_items(ids, lang, parallel)],
            None,
            {"languages": [p[0] for p in pooled], "clustered_by_source_row": parallel},
            not parallel,
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


def comparisons(
    out_dir: str | Path, pairs: Iterable[tuple[str, str]] | None = None, **kw: Any
) -> list[ResultRow]:
    """Every intermediate set-up compared with its baseline, computed from the saved predictions
    when a report is read; nothing is written into the results store."""
    out_dir = Path(out_dir)
    rows: list[ResultRow] = []
    for a, b in comparison_pairs(out_dir) if pairs is None else pairs:
        rows.extend(compare_models(out_dir, a, b, **kw))
    return rows
