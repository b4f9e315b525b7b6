"""Per-item outcomes of finished evaluate steps, with the source item each one translates.

Every evaluate step saves ``steps/<key>/predictions/<lang>.jsonl`` (``id``, ``prediction``,
``gold``, one line per example, in the order evaluated) and its result rows carry the labels
(model, intermediate, seed, task, split, perturbation). ``item_frame`` joins them into one long
table, one row per (step, language, item, score), scored per item by the task's metric
(``ITEM_SCORES``: a metric whose value is the mean of per-item scores).

The **source item** (the cluster) of an example: for a task that declares ``parallel: true`` (its
languages are translations of the same source rows), the readers' ids are either
``<file stem>-<row>`` (row-based files: the row number is the source row, since row ``i`` of every
language file translates the same source row) or the dataset's own id, which parallel QA sets keep
equal across languages (XQuAD, MLQA). For any other task every (language, id) is its own item.
Perturbed copies keep the ids of the clean rows, so clean and perturbed outcomes pair by item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import DataError
from xstilts.registry import Registry

ITEM_COLUMNS = (
    "step",
    "model",
    "intermediate",
    "seed",
    "task",
    "language",
    "split",
    "perturbation",
    "metric",
    "item",
    "cluster",
    "value",
)
ItemScorer = Callable[[Sequence[dict[str, Any]], str], dict[str, list[float]]]
# per-item scorers that need evaluation's metric code register there, found by name on first lookup
ITEM_SCORES: Registry[ItemScorer] = Registry(
    "per-item metric", providers=("xstilts.evaluation.item_scores",)
)
_ROW_ID = re.compile(r"^(?P<stem>.*)-(?P<row>\d+)$")


@ITEM_SCORES.register("accuracy")
def _accuracy(rows: Sequence[dict[str, Any]], lang: str) -> dict[str, list[float]]:
    """Accuracy's per-item score: 1 if the prediction equals the gold label."""
    return {"accuracy": [float(r["prediction"] == r["gold"]) for r in rows]}


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


def source_items(ids: Sequence[str], lang: str, parallel: bool) -> list[str]:
    """The cluster key of each example id of one language file (see the module docstring)."""
    ids = [str(i) for i in ids]
    if not parallel:
        return [f"{lang}/{i}" for i in ids]
    matches = [_ROW_ID.match(i) for i in ids]
    if ids and all(matches) and len({m.group("stem") for m in matches if m}) == 1:
        return [f"row/{m.group('row')}" for m in matches if m]
    return [f"id/{i}" for i in ids]


def _labels(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    first = next((r for r in rows if r.get("language") != "avg"), None)
    if first is None:
        return None
    return {
        k: first.get(k) for k in ("model", "intermediate", "seed", "task", "split", "perturbation")
    }


def step_items(out_dir: str | Path, key: str) -> pd.DataFrame:
    """Per-item outcomes of one evaluate step (empty when its task has no per-item metric)."""
    from xstilts.tasks.registry import get_task

    out_dir = Path(out_dir)
    path = out_dir / "results" / f"{key}.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read result rows: {exc}", where=str(path)) from None
    lab = _labels(rows)
    if lab is None:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    spec = get_task(str(lab["task"]), where=str(path))
    scorers = [m for m in spec.metrics if m in ITEM_SCORES]
    if not scorers:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    scorer = ITEM_SCORES.get(scorers[0]).obj
    split_of = {r["language"]: r["split"] for r in rows}
    frames = []
    for lang, preds in read_predictions(out_dir / "steps" / key).items():
        if not preds:
            continue
        ids = [str(r["id"]) for r in preds]
        clusters = source_items(ids, lang, spec.parallel)
        for metric, values in scorer(preds, lang).items():
            frames.append(
                pd.DataFrame(
                    {
                        **{k: [v] * len(ids) for k, v in lab.items()},
                        "step": key,
                        "language": lang,
                        "split": split_of.get(lang, lab["split"]),
                        "metric": metric,
                        "item": [f"{lang}/{i}" for i in ids],
                        "cluster": clusters,
                        "value": values,
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    return pd.concat(frames, ignore_index=True)[list(ITEM_COLUMNS)]


def item_frame(out_dir: str | Path) -> pd.DataFrame:
    """Per-item outcomes of every finished evaluate step of ``out_dir`` that saved predictions."""
    out_dir = Path(out_dir)
    rdir = out_dir / "results"
    frames = []
    if rdir.is_dir():
        for path in sorted(rdir.glob("evaluate-*.json")):
            if (out_dir / "steps" / path.stem / "predictions").is_dir():
                frames.append(step_items(out_dir, path.stem))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["seed"] = out["seed"].astype(int)
    return out
