"""Reading the results frame: row kinds, main metrics, splits, orderings and seed series.

The results store is one long table for everything (task scores, perturbations, attacks,
alignment probes); every report builder starts from the same classification here so that a row
is never counted in two sections.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from xstilts.evaluation.metrics import describe
from xstilts.experiments.results import COLUMNS, ROW_FIELDS, normalise

BASELINE = "none"
CLEAN = "none"
AVG = "avg"  # name of the average column (computed on read, never read from the store)
ATTACK_SCORE = "accuracy_under_attack"  # the headline of an attack, shown beside noise
ATTACK_CLEAN = "clean_accuracy"  # the same rows before the attack
NOISE_KINDS = ("perturbation", "attack")
PROBE_KINDS = ("alignment", "retrieval")  # per-layer probes of the encoder (alignment section)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """A normalised copy: rows completed by the results loader (``kind``, ``params``; stored
    ``avg`` rows dropped), numeric values, int seeds, dict ``extra``, ``layer``/``checkpoint``."""
    records = [
        {k: v for k, v in r.items() if not _missing(v)} | {"extra": _as_dict(r.get("extra"))}
        for r in df.to_dict("records")
    ]
    d = pd.DataFrame(normalise(records)) if records else pd.DataFrame(columns=list(ROW_FIELDS))
    for col in (*COLUMNS, "extra", "params"):
        if col not in d.columns:
            d[col] = None if col != "value" else math.nan
    d["value"] = pd.to_numeric(d["value"], errors="coerce")
    d = d[d["value"].notna()].copy()
    d["seed"] = pd.to_numeric(d["seed"], errors="coerce").fillna(0).astype(int)
    for col in ("model", "intermediate", "target", "task", "language", "split", "perturbation"):
        d[col] = (
            d[col].fillna("none" if col in ("intermediate", "perturbation") else "").astype(str)
        )
    d["metric"] = d["metric"].astype(str)
    d["extra"] = [_as_dict(x) for x in d["extra"]]
    d["params"] = [_as_dict(x) for x in d["params"]]
    d["layer"] = [_as_int(x.get("layer")) for x in d["extra"]]
    d["checkpoint"] = [
        str(x["checkpoint"]) if x.get("checkpoint") not in (None, "") else "" for x in d["extra"]
    ]
    return d.reset_index(drop=True)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _as_dict(x: Any) -> dict[str, Any]:
    if isinstance(x, Mapping):
        return dict(x)
    if isinstance(x, str) and x.strip().startswith("{"):
        try:
            v = json.loads(x)
            return v if isinstance(v, dict) else {}
        except json.JSONDecodeError:
            return {}
    return {}


def _as_int(x: Any) -> float:
    """Layer as a number (float so pandas keeps NaN for 'no layer')."""
    try:
        return (
            float(int(x))
            if x is not None and not (isinstance(x, float) and math.isnan(x))
            else math.nan
        )
    except (TypeError, ValueError):
        return math.nan


def task_rows(d: pd.DataFrame) -> pd.DataFrame:
    """Rows that score a target task (``task == target``) or a target-free task (``target none``):
    clean, perturbed and attacked scores (retrieval and alignment probes have their sections)."""
    t = d[d["kind"].isin(["clean", *NOISE_KINDS])]
    return t[(t["task"] == t["target"]) | (t["target"].isin(["none", ""]))]


def models(d: pd.DataFrame) -> list[str]:
    return sorted(d["model"].unique().tolist())


def resolve_main_metrics(
    d: pd.DataFrame, main_metric: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The headline metric per task: the given one, else ``accuracy`` if present, else the first."""
    main_metric = dict(main_metric or {})
    out: dict[str, str] = {}
    clean = task_rows(d)
    clean = clean[clean["kind"] == "clean"]
    for task in order_tasks(clean["task"].unique()):
        present = list(dict.fromkeys(clean.loc[clean["task"] == task, "metric"]))
        if task in main_metric:
            out[task] = main_metric[task]
        elif "accuracy" in present:
            out[task] = "accuracy"
        elif present:
            out[task] = present[0]
    return out


def pick_split(rows: pd.DataFrame) -> str:
    """``test`` if the rows have it, else ``dev``, else whatever there is."""
    splits = set(rows["split"].unique())
    for s in ("test", "dev"):
        if s in splits:
            return s
    return sorted(splits)[0] if splits else "test"


def order_intermediates(names: Iterable[str]) -> list[str]:
    """Baseline first, then single tasks, then combinations (``a+b``), each alphabetical."""
    names = set(names)
    rest = sorted(n for n in names if n != BASELINE)
    return ([BASELINE] if BASELINE in names else []) + sorted(rest, key=lambda n: (n.count("+"), n))


def order_languages(langs: Iterable[str]) -> list[str]:
    """English first, then the others alphabetically, the ``avg`` column last."""
    langs = set(langs)
    mid = sorted(lang for lang in langs if lang not in ("en", AVG))
    return (["en"] if "en" in langs else []) + mid + ([AVG] if AVG in langs else [])


def order_tasks(tasks: Iterable[str]) -> list[str]:
    return sorted(set(tasks))


def noise_params(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Label -> its parameters as the rows carry them (``{"name": ..., "rate": ...}``)."""
    out: dict[str, dict[str, Any]] = {}
    for label, params in zip(rows["perturbation"], rows["params"], strict=True):
        if label != CLEAN and label not in out:
            out[label] = dict(params or {})
    return out


def order_noise(rows: pd.DataFrame) -> list[str]:
    """Perturbation and attack labels of ``rows``: perturbations first, grouped by name and by
    rate within a name; then attacks by name and query budget (read from ``params``)."""
    kinds = dict(zip(rows["perturbation"], rows["kind"], strict=True))
    params = noise_params(rows)

    def key(label: str) -> tuple[int, str, float, str]:
        p = params.get(label, {})
        level = p.get("rate", p.get("query_budget"))
        num = float(level) if isinstance(level, int | float) else math.inf
        return (int(kinds.get(label) == "attack"), str(p.get("name", label)), num, label)

    return sorted((x for x in set(rows["perturbation"]) if x != CLEAN), key=key)


def seed_series(rows: pd.DataFrame, by: list[str]) -> dict[tuple, pd.Series]:
    """``{key: Series(seed -> value)}``; duplicates of one seed (re-runs) are averaged."""
    if rows.empty:
        return {}
    g = rows.groupby([*by, "seed"], sort=True)["value"].mean()
    out: dict[tuple, pd.Series] = {}
    for key, s in g.groupby(level=list(range(len(by)))):
        k = key if isinstance(key, tuple) else (key,)
        out[k] = s.droplevel(list(range(len(by))))
    return out


def scale_of(metric: str) -> float:
    """Display factor of a stored score, as its metric declares (0..1 fractions shown ×100)."""
    return describe(metric).scale


def higher_is_better(metric: str) -> bool:
    return describe(metric).higher_is_better


def decimals_of(metric: str) -> int:
    """Unscaled bounded scores (a cosine margin) need more digits than points or counts."""
    m = describe(metric)
    return 3 if m.scale == 1.0 and all(math.isfinite(b) for b in m.bounds) else 1


def row_label(model: str, intermediate: str, many_models: bool) -> str:
    name = "Baseline" if intermediate == BASELINE else intermediate
    return f"{model}: {name}" if many_models else name
