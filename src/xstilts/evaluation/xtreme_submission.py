"""Scoring an XTREME / XTREME-R submission folder with xstilts' own scorers and aggregate.

A submission (XTREME's ``mock_test_data`` layout, what its leaderboard takes) has
``predictions/<task>/test-<lang>.<ext>`` next to ``labels/<task>/test-<lang>.<ext>``. Its files are
not the data layouts xstilts' readers take: tag-only lines (a blank line between sentences) for
PAN-X / UD-POS, one label per line for XNLI / PAWS-X / Tatoeba (the retrieved index), id-pair TSVs
for BUCC, ``id -> answer`` JSON against SQuAD-format labels for the QA tasks, ``id -> [ids]`` JSON
for Mewsli-X. They are read as XTREME's ``evaluate.py`` (commit 838c13b6) reads them
(``read_tag``, ``read_label``, ``read_squad``) and scored by the xstilts metric the task declares.

How a task's files are read and scored is chosen by the task's first metric (``SUBMISSION_FORMATS``,
one decorated function each), never by task name; the folder name is ``defaults.submission_name``
in the task YAML (default: the task's name). ``submission_rows`` gives result rows in the results
table's layout, so ``evaluation.aggregate`` computes the task and benchmark scores from them as it
does for a run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.errors import DataError
from xstilts.evaluation.aggregate import benchmark_languages
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.retrieval import bucc_scores
from xstilts.registry import Registry
from xstilts.tasks.registry import all_groups, get_task

Scorer = Callable[..., dict[str, float]]  # (pred file, label file, lang, *, metric)


@dataclass(frozen=True)
class SubmissionFormat:
    ext: str  # file suffix of both files
    score: Scorer  # -> {metric: value in 0..1}


SUBMISSION_FORMATS: Registry[SubmissionFormat] = Registry("submission format")


def submission_format(*metrics: str, ext: str):
    """Register ``fn(pred_file, label_file, lang)`` for tasks whose first metric is one of these."""

    def deco(fn: Scorer) -> Scorer:
        for m in metrics:
            SUBMISSION_FORMATS.register(m)(SubmissionFormat(ext, fn))
        return fn

    return deco


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read: {exc}", where=str(path)) from None


def read_tag(path: Path) -> list[list[str]]:
    """``evaluate.py read_tag``: stripped lines; a blank line ends a sentence (two blank lines give
    an empty sentence); a last sentence without a blank line still counts."""
    out: list[list[str]] = []
    cur: list[str] = []
    for line in _text(path).splitlines():
        line = line.strip()
        if line:
            cur.append(line)
        else:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def read_label(path: Path) -> list[str]:
    """``evaluate.py read_label``: every line, stripped."""
    return [ln.strip() for ln in _text(path).splitlines()]


def read_json(path: Path) -> Any:
    try:
        return json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON: {exc.msg} at line {exc.lineno}", where=str(path)) from None


def _count(pred: Path, label: Path, n_pred: int, n_label: int) -> None:
    """``evaluate_one_task`` asserts equal example counts for line-per-example tasks."""
    if n_pred != n_label:
        raise DataError(f"{n_pred} examples vs {n_label} in {label}", where=str(pred))


@submission_format("seqeval_v0", "seqeval", ext="tsv")
def _tags(pred: Path, label: Path, lang: str, *, metric: str = "") -> dict[str, float]:
    p, g = read_tag(pred), read_tag(label)
    _count(pred, label, len(p), len(g))
    return compute(metric, predictions=p, references=g)


@submission_format("accuracy", "tatoeba", ext="tsv")
def _labels(pred: Path, label: Path, lang: str, *, metric: str = "") -> dict[str, float]:
    p, g = read_label(pred), read_label(label)
    _count(pred, label, len(p), len(g))
    return compute("accuracy", predictions=p, references=g)


@submission_format("bucc2018", ext="tsv")
def _bucc(pred: Path, label: Path, lang: str, *, metric: str = "") -> dict[str, float]:
    """``evaluate.py bucc_f1``: the predicted pairs are the extracted ones (all count)."""
    p = {tuple(ln.split("\t")) for ln in read_label(pred)}
    g = {tuple(ln.split("\t")) for ln in read_label(label)}
    return bucc_scores(dict.fromkeys(p, 1.0), g, 1.0)


def _squad_refs(data: Any, where: Path) -> list[dict[str, Any]]:
    """``evaluate.py read_squad``: the ``data`` list (or the file itself) as QA references."""
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    try:
        return [
            {"id": qa["id"], "answers": qa["answers"]}
            for art in articles
            for par in art["paragraphs"]
            for qa in par["qas"]
        ]
    except (KeyError, TypeError):
        raise DataError("not SQuAD-format labels", where=str(where)) from None


@submission_format("squad", "mlqa", ext="json")
def _qa(pred: Path, label: Path, lang: str, *, metric: str = "") -> dict[str, float]:
    refs = _squad_refs(read_json(label), label)
    extra = {"answer_language": lang} if metric == "mlqa" else {}
    return compute(metric, predictions=read_json(pred), references=refs, **extra)


@submission_format("ranking", ext="json")
def _ranking(pred: Path, label: Path, lang: str, *, metric: str = "") -> dict[str, float]:
    """Mewsli-X: ``{id: [gold]}`` labels, ``{id: [predicted ids]}`` predictions, MRR@20."""
    gold, preds = read_json(label), read_json(pred)
    if not isinstance(gold, dict) or not isinstance(preds, dict):
        raise DataError("expected a JSON object id -> list of ids", where=str(label))
    return compute(
        "ranking",
        rankings=[list(preds.get(q, [])) for q in gold],
        relevant=[[g[0]] for g in gold.values()],
        k=20,
    )


def submission_name(task: str) -> str:
    return str(get_task(task).defaults.get("submission_name") or task)


def score_submission_task(
    predictions: Path, labels: Path, task: str, languages: list[str]
) -> dict[str, dict[str, float]]:
    """``language -> {metric: value}`` for one task's files, read and scored as XTREME does."""
    spec = get_task(task)
    fmt = SUBMISSION_FORMATS.get(spec.metrics[0], where=f"task {task}").obj
    folder = submission_name(task)
    out = {}
    for lang in languages:
        name = f"{folder}/test-{lang}.{fmt.ext}"
        out[lang] = fmt.score(predictions / name, labels / name, lang, metric=spec.metrics[0])
    return out


def submission_rows(predictions: str | Path, labels: str | Path, group: str) -> list[dict]:
    """Result rows (``model="submission"``) for every task of ``group`` whose folder exists in
    both trees, over the benchmark's languages, in the results table's layout."""
    predictions, labels = Path(predictions), Path(labels)
    g = all_groups()[group]
    rows: list[dict] = []
    for task in g.tasks:
        folder = submission_name(task)
        if not ((predictions / folder).is_dir() and (labels / folder).is_dir()):
            continue
        spec = get_task(task)
        langs = benchmark_languages(task, group)
        scores = score_submission_task(predictions, labels, task, langs)
        for lang, vals in scores.items():
            for metric, value in vals.items():
                rows.append(
                    {
                        "run_id": "submission",
                        "config_hash": "",
                        "model": "submission",
                        "intermediate": "none",
                        "seed": 0,
                        "target": "none" if spec.family == "retrieval" else task,
                        "task": task,
                        "language": lang,
                        "split": "test",
                        "perturbation": "none",
                        "metric": metric,
                        "value": float(value),
                        "step": f"submission-{group}",
                        "extra": {"file": f"{folder}/test-{lang}"},
                    }
                )
    return rows
