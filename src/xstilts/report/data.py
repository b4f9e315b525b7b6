"""Reading the results frame: row kinds, main metrics, splits, orderings and seed series.

The results store is one long table for everything (task scores, perturbations, attacks,
alignment probes); every report builder starts from the same classification here so that a row
is never counted in two sections.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from xstilts.experiments.results import COLUMNS

BASELINE = "none"
CLEAN = "none"
AVG = "avg"

ALIGNMENT_METRICS = frozenset(
    {"tatoeba_acc", "bucc_f1", "cka", "pair_margin", "lang_id_acc", "cosine", "retrieval_acc"}
    | {"pair_rank", "perturbed_self_cos", "perturbed_translation_cos"}  # xstilts.align
)
ATTACK_METRICS = (
    "accuracy_under_attack",
    "attack_success_rate",
    "avg_queries",
    "perturbation_rate",
)
ATTACK_SCORE = "accuracy_under_attack"
# From the model's point of view: fewer successful attacks is better; for the language-ID probe a
# *lower* accuracy means more language-neutral (better aligned) representations.
LOWER_IS_BETTER = frozenset({"attack_success_rate", "lang_id_acc", "pair_rank"})
# Metrics not in 0..1: shown as stored, not ×100.
UNSCALED = frozenset({"avg_queries", "pair_margin", "pair_rank"})

_RATE = re.compile(r"^(?P<name>.+?)@(?P<rate>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)$")


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """A normalised copy: numeric values, int seeds, dict ``extra``, ``layer``/``checkpoint``/``kind``.

    ``kind`` is one of ``clean``, ``perturbed``, ``attack``, ``alignment``.
    """
    d = df.copy()
    for col in (*COLUMNS, "extra"):
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
    d["layer"] = [_as_int(x.get("layer")) for x in d["extra"]]
    d["checkpoint"] = [
        str(x["checkpoint"]) if x.get("checkpoint") not in (None, "") else "" for x in d["extra"]
    ]
    is_align = d["metric"].isin(ALIGNMENT_METRICS) | d["layer"].notna()
    is_attack = d["perturbation"].str.startswith("attack:")
    kind = pd.Series("clean", index=d.index)
    kind[d["perturbation"] != CLEAN] = "perturbed"
    kind[is_attack] = "attack"
    kind[is_align] = "alignment"
    stored = d["kind"].astype(str) if "kind" in d.columns else pd.Series("", index=d.index)
    d["kind"] = kind
    return _with_averages(d, stored).reset_index(drop=True)


_NOT_AVG_KEYS = frozenset({"language", "value", "extra", "layer", "checkpoint", "params"})


def _with_averages(d: pd.DataFrame, stored_kind: pd.Series) -> pd.DataFrame:
    """Each score's ``avg`` language, computed on read as the mean over its non-English languages
    (steps store per-language rows only); a stored ``avg`` row (older stores) is kept as it is."""
    scored = d[
        (d["kind"] != "alignment")
        & ~stored_kind.isin(["comparison", "alignment"])
        & ~d["step"].astype(str).str.startswith(("compare-", "aggregate-"))
        & ~d["language"].isin(["en", AVG, "all", ""])
    ]
    if scored.empty:
        return d
    # every other column (swept values included) names the score; dicts cannot be grouped by
    keys = [
        c
        for c in d.columns
        if c not in _NOT_AVG_KEYS and not d[c].map(lambda v: isinstance(v, dict | list)).any()
    ]
    means = scored.groupby(keys, dropna=False, sort=False)["value"].mean().reset_index()
    have = d[d["language"] == AVG]
    if not have.empty:
        known = set(map(tuple, have[keys].astype(str).values))
        means = means[[tuple(r) not in known for r in means[keys].astype(str).values]]
    if means.empty:
        return d
    means["language"] = AVG
    means["extra"] = [{} for _ in range(len(means))]
    if "params" in d.columns:
        means["params"] = [{} for _ in range(len(means))]
    means["layer"] = math.nan
    means["checkpoint"] = ""
    return pd.concat([d, means], ignore_index=True)


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
    """Rows that score a target task (``task == target``) or a target-free task (``target none``)."""
    t = d[d["kind"] != "alignment"]
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


def parse_rate(perturbation: str) -> tuple[str, float | None]:
    """``char_swap@0.1`` -> (``char_swap``, 0.1); a name without a rate -> (name, None)."""
    p = perturbation.removeprefix("attack:")
    m = _RATE.match(p)
    if not m:
        return p, None
    return m.group("name"), float(m.group("rate"))


def order_perturbations(names: Iterable[str]) -> list[str]:
    """Perturbations grouped by family, by rate within a family; attacks after perturbations."""

    def key(n: str) -> tuple[int, str, float]:
        fam, rate = parse_rate(n)
        return (int(n.startswith("attack:")), fam, rate if rate is not None else math.inf)

    return sorted(set(names), key=key)


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
    return 1.0 if metric in UNSCALED else 100.0


def decimals_of(metric: str) -> int:
    return 3 if metric == "pair_margin" else 1


def row_label(model: str, intermediate: str, many_models: bool) -> str:
    name = "Baseline" if intermediate == BASELINE else intermediate
    return f"{model}: {name}" if many_models else name
