"""Benchmark aggregates by the rule of XTREME's ``evaluate.py``.

The authority is ``evaluate.py`` of google-research/xtreme at commit 838c13b6 (the commit of the mock
submission in ``../shared/data/xtreme_mock_submission``), function ``evaluate``:

* a task's score for a metric is the plain mean over the benchmark's languages for that task,
  English included (``XTREME_TASK2LANGS`` / ``XTREME_R_TASK2LANGS``; here
  ``defaults.benchmark_languages.<group>`` in the task YAML when the benchmark uses a subset, e.g.
  Tatoeba's 36 XTREME languages out of 112 or XQuAD's 11 without ``ro``; otherwise all the task's
  languages);
* the task score (``avg_metric``) is that mean of the task's main metric, except for QA, where it is
  ``(avg_exact_match + avg_f1) / 2`` (declared as ``defaults.benchmark_metrics`` in the QA YAMLs);
* the benchmark score (``all_task``) is the unweighted mean of the *task* scores (nine for XTREME),
  not of the category means; a category score is the mean of its tasks' scores
  (``XTREME_GROUP2TASK`` / ``XTREME_R_GROUP2TASK``, the ``categories`` of the group YAML).
  ``evaluate.py`` prints a category or the overall score only when all its tasks are there.
* XTREME-R: ``evaluate.py --xtreme_version xtreme-r`` never prints an overall score: it asks for all
  ten tasks of ``XTREME_R_TASK2LANGS``, and ``lareqa`` there has no languages, reader or metric. The
  XTREME-R overall is the one of Ruder et al. (2021), EMNLP, "XTREME-R: Towards More Challenging and
  Nuanced Multilingual Evaluation", and of its leaderboard; xstilts computes it with the same
  ``all_task`` rule over XTREME-R's ten tasks and labels it as such.

Trained targets use the rows of their own target phase (``target == task``); retrieval tasks use
rows of the encoder without target training (``target == none``), as Phang et al. (2020) evaluate
BUCC and Tatoeba. Missing languages or tasks are not silently dropped: each aggregate row says in
``extra`` which tasks and how many languages it covers, and ``complete`` is false when anything was
missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import ConfigError
from xstilts.rows import ResultRow, ResultsStore
from xstilts.tasks.registry import all_groups, get_task

# Which split stands for a task when several were scored (BUCC: held-out half before oracle).
SPLIT_PREFERENCE = ("test", "dev-heldout", "dev")
KEYS = ("run_id", "config_hash", "model", "intermediate", "seed")


def benchmark_languages(task: str, group: str) -> list[str]:
    spec = get_task(task)
    table = spec.defaults.get("benchmark_languages", {})
    return list(table.get(group) or spec.languages)


def benchmark_metrics(task: str) -> list[str]:
    """The metrics whose language means make the task score (QA: exact_match and f1)."""
    spec = get_task(task)
    return list(spec.defaults.get("benchmark_metrics") or [spec.main_metric])


def task_score(per_metric: Mapping[str, Mapping[str, float]], metrics: Sequence[str]) -> float:
    """``evaluate.py``: ``avg_<m> = sum over languages / n`` per metric; the task score is the mean
    of those averages over ``metrics`` (one metric: its average; QA: ``(avg_em + avg_f1) / 2``).

    ``per_metric``: metric -> language -> value (languages as the benchmark lists them).
    """
    avgs = []
    for m in metrics:
        vals = list(per_metric.get(m, {}).values())
        avgs.append(sum(vals) / len(vals) if vals else float("nan"))
    return sum(avgs) / len(avgs) if len(avgs) > 1 else avgs[0]


def benchmark_score(scores: Mapping[str, float], tasks: Sequence[str]) -> float:
    """``evaluate.py``'s ``all_task`` (and a category's score): the unweighted mean of the task
    scores, over the tasks given (``nan`` when one is missing, where ``evaluate.py`` prints none)."""
    if any(t not in scores for t in tasks) or not tasks:
        return float("nan")
    return sum(scores[t] for t in tasks) / len(tasks)


def _pick_split(rows: pd.DataFrame) -> pd.DataFrame:
    present = set(rows["split"])
    for s in SPLIT_PREFERENCE:
        if s in present:
            return rows[rows["split"] == s]
    rest = sorted(present - {"dev-oracle"}) or sorted(present)
    return rows[rows["split"] == rest[0]]


def task_scores(df: pd.DataFrame, group: str) -> pd.DataFrame:
    """One row per (KEYS, task): mean main metric over the benchmark's languages."""
    g = all_groups().get(group)
    if g is None:
        raise ConfigError(f"unknown benchmark {group!r}", where="benchmark")
    out: list[dict[str, Any]] = []
    if df.empty:
        return pd.DataFrame(columns=[*KEYS, "task", "score", "n_languages", "missing"])
    clean = df[(df["perturbation"] == "none") & (df["language"] != "avg")]
    for task in g.tasks:
        spec = get_task(task)
        langs = benchmark_languages(task, group)
        own = "none" if spec.family == "retrieval" else task
        metrics = benchmark_metrics(task)
        rows = clean[
            (clean["task"] == task)
            & (clean["metric"].isin(metrics))
            & (clean["target"] == own)
            & (clean["language"].isin(langs))
        ]
        for key, part in rows.groupby(list(KEYS), dropna=False):
            part = _pick_split(part)
            means = part.groupby(["metric", "language"])["value"].mean()
            per_metric = {
                m: {lang: float(means[(m, lang)]) for lang in langs if (m, lang) in means.index}
                for m in metrics
            }
            have = set.intersection(*(set(v) for v in per_metric.values()))
            per_metric = {
                m: {lang: v[lang] for lang in langs if lang in have} for m, v in per_metric.items()
            }
            missing = [lang for lang in langs if lang not in have]
            out.append(
                {
                    **dict(zip(KEYS, key, strict=True)),
                    "task": task,
                    "score": task_score(per_metric, metrics),
                    "n_languages": len(have),
                    "missing": missing,
                    "split": str(part["split"].iloc[0]),
                }
            )
    return pd.DataFrame(out)


def aggregate_benchmark(df: pd.DataFrame, group: str) -> pd.DataFrame:
    """Aggregate rows (``task=<group>``, ``language=avg``) in the results-table layout.

    Metrics: ``score`` (overall), ``category:<name>`` and ``task:<name>`` (the per-task means).
    """
    g = all_groups()[group] if group in all_groups() else None
    ts = task_scores(df, group)
    if g is None or ts.empty:
        return pd.DataFrame(columns=[*ResultRow.__dataclass_fields__])
    cats = g.categories or {t: [t] for t in g.tasks}
    rows: list[dict[str, Any]] = []
    for key, part in ts.groupby(list(KEYS), dropna=False):
        labels = dict(zip(KEYS, key, strict=True))
        by_task = dict(zip(part["task"], part["score"], strict=True))
        complete = all(t in by_task for t in g.tasks) and not any(len(m) for m in part["missing"])

        def row(
            metric: str, value: float, extra: dict[str, Any], labels=labels, complete=complete
        ) -> dict[str, Any]:
            return {
                **labels,
                "target": group,
                "task": group,
                "language": "avg",
                "split": "benchmark",
                "perturbation": "none",
                "metric": metric,
                "value": float(value),
                "step": f"aggregate-{group}",
                "extra": {**extra, "complete": complete},
            }

        for t, s in by_task.items():
            info = part[part["task"] == t].iloc[0]
            rows.append(
                row(
                    f"task:{t}",
                    s,
                    {"n_languages": int(info["n_languages"]), "missing": list(info["missing"])},
                )
            )
        # evaluate.py: a category and the overall score are means of task scores; with tasks
        # missing, the mean over those present is kept but marked incomplete
        for cat, tasks in cats.items():
            have = [t for t in tasks if t in by_task]
            if have:
                rows.append(
                    row(
                        f"category:{cat}",
                        benchmark_score(by_task, have),
                        {"tasks": have},
                    )
                )
        present = [t for t in g.tasks if t in by_task]
        if present:
            rows.append(row("score", benchmark_score(by_task, present), {"tasks": present}))
    return pd.DataFrame(rows)


def write_aggregates(out_dir: str | Path, group: str) -> Path | None:
    """Compute the aggregates of a run directory's results and store them as one rows file."""
    store = ResultsStore(out_dir)
    df = store.frame()
    df = df[~df["step"].astype(str).str.startswith("aggregate-")] if not df.empty else df
    agg = aggregate_benchmark(df, group)
    if agg.empty:
        return None
    fields = ResultRow.__dataclass_fields__
    rows = [ResultRow(**{k: r[k] for k in fields}) for r in agg.to_dict("records")]
    return store.write(f"aggregate-{group}", rows)
