"""Sweeps: any config value as one more grid axis (``sweep: {dotted.path: [values]}``).

A sweep point is the config with one value per swept path. The plan of a sweep is the union of
its points' plans: steps keep their content keys, so work that does not depend on a swept value
(the baseline when ``phases.intermediate.max_examples`` is swept, every intermediate training when
``phases.target.learning_rate`` is) has one key and runs once. ``<out>/sweep.json`` records which
points use which step; ``sweep_frame`` turns it into one column per swept path, a row of a step
that several points share appearing once per point (so every point is a complete grid).
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from xstilts.errors import ConfigError
from xstilts.registry import pydantic_message

if TYPE_CHECKING:
    import pandas as pd

    from xstilts.experiments.config import ExperimentConfig
    from xstilts.experiments.plan import Plan

INDEX = "sweep.json"


def _set(data: Any, path: str, value: Any) -> None:
    """Set ``a.b.0.c`` in nested dicts/lists; a missing key is created (pydantic then refuses it
    where the schema has no such field, naming it)."""
    parts = path.split(".")
    cur = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                raise ConfigError(
                    f"{'.'.join(parts[: i + 1])}: no such list item (the list has {len(cur)})",
                    where=f"sweep.{path}",
                )
            idx: Any = int(part)
        elif isinstance(cur, dict):
            idx = part
            if not last and not isinstance(cur.get(part), dict | list):
                if cur.get(part) is not None:
                    raise ConfigError(
                        f"{'.'.join(parts[: i + 1])} is a value, not a section",
                        where=f"sweep.{path}",
                    )
                cur[part] = {}
        else:
            raise ConfigError(
                f"{'.'.join(parts[:i])} is a value, not a section", where=f"sweep.{path}"
            )
        if last:
            cur[idx] = value
        else:
            cur = cur[idx]


def check_sweep(sweep: dict[str, list[Any]]) -> None:
    """Shape of the ``sweep:`` mapping: dotted paths to non-empty lists of distinct values."""
    for path, values in sweep.items():
        where = f"sweep.{path}"
        if not path or any(not p for p in path.split(".")):
            raise ConfigError("a sweep key is a dotted config path", where=where)
        if path == "sweep" or path.startswith("sweep."):
            raise ConfigError("a sweep cannot sweep itself", where=where)
        if not isinstance(values, list) or not values:
            raise ConfigError("give a non-empty list of values", where=where)
        seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
        if len(set(seen)) != len(seen):
            raise ConfigError("values repeat", where=where)


def points(cfg: ExperimentConfig) -> list[tuple[dict[str, Any], ExperimentConfig]]:
    """Every combination of swept values, each with its config (validated; errors name
    ``sweep.<path>``). The first path varies slowest."""
    from xstilts.experiments.config import ExperimentConfig

    base = cfg.model_dump(exclude={"sweep"})
    paths = list(cfg.sweep)
    out = []
    for combo in itertools.product(*(cfg.sweep[p] for p in paths)):
        data = copy.deepcopy(base)
        for path, value in zip(paths, combo, strict=True):
            _set(data, path, copy.deepcopy(value))
        try:
            sub = ExperimentConfig.model_validate(data)
        except ValidationError as exc:
            bad = next(
                (p for p in paths if pydantic_message(exc).startswith(p)),
                paths[0] if len(paths) == 1 else None,
            )
            value = dict(zip(paths, combo, strict=True)).get(bad) if bad else combo
            raise ConfigError(
                f"value {value!r}: {pydantic_message(exc)}",
                where=f"sweep.{bad}" if bad else "sweep",
            ) from None
        out.append((dict(zip(paths, combo, strict=True)), sub))
    return out


def short_names(paths: list[str]) -> dict[str, str]:
    """The shortest unambiguous suffix of each path (``max_examples`` for
    ``phases.intermediate.max_examples`` unless another path ends the same)."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            if sum(q == name or q.endswith("." + name) for q in paths) == 1:
                out[p] = name
                break
        else:
            out[p] = p
    return out


def point_label(point: dict[str, Any], names: dict[str, str]) -> str:
    return ", ".join(f"{names[p]}={v}" for p, v in point.items())


def build_sweep_plan(cfg: ExperimentConfig, *, data_dir: str | None = None) -> Plan:
    """The union of the points' plans; a step's label names the swept values it depends on."""
    from xstilts.experiments.plan import Plan, build_plan

    merged = Plan()
    pts = points(cfg)
    uses: dict[str, list[int]] = {}
    digest = cfg.digest()
    for i, (_point, sub) in enumerate(pts):
        p = build_plan(sub, data_dir=data_dir)
        merged.requested += p.requested
        merged.asked.update(p.asked)
        for key, step in p.steps.items():
            labels = step.params.get("labels")
            if isinstance(labels, dict) and "config_hash" in labels:
                labels["config_hash"] = digest  # one experiment, whatever the point (unkeyed)
            merged.steps.setdefault(key, step)
            uses.setdefault(key, []).append(i)
    names = short_names(list(cfg.sweep))
    for key, idx in uses.items():
        if len(idx) == len(pts):
            continue  # shared by every point: depends on no swept value
        common = {
            path: pts[idx[0]][0][path]
            for path in cfg.sweep
            if len({json.dumps(pts[i][0][path], default=str) for i in idx}) == 1
        }
        if common:
            merged.steps[key].label += f" [{point_label(common, names)}]"
    merged.sweep = {
        "paths": list(cfg.sweep),
        "points": [pt for pt, _ in pts],
        "steps": uses,
    }
    return merged


def write_index(plan: Plan, out_dir: str | Path) -> None:
    """``<out>/sweep.json`` for a sweep's plan; a stale one (the last config had no sweep) goes."""
    from xstilts.experiments.atomic import write_json

    path = Path(out_dir) / INDEX
    index = getattr(plan, "sweep", None)
    if index:
        write_json(path, index)
    elif path.exists():
        path.unlink()


def read_index(out_dir: str | Path) -> dict[str, Any] | None:
    path = Path(out_dir) / INDEX
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise ConfigError(
            "not valid JSON (rerun the sweep to rewrite it)", where=str(path)
        ) from None


def _step_of(row_step: str) -> str:
    """The step whose points a row follows: a comparison row (``compare-<a>-<b>``) follows its
    treated step ``b`` (keys are ``<kind>-<hex>``)."""
    if row_step.startswith("compare-"):
        return "-".join(row_step.split("-")[-2:])
    return row_step


def expand(df: pd.DataFrame, index: dict[str, Any] | None) -> pd.DataFrame:
    """One column per swept path; a row of a step shared by several points once per point.

    ``df.attrs["sweep_paths"]`` lists the columns. Rows of steps the index does not know (an
    earlier run into the same directory) keep empty sweep values.
    """
    import pandas as pd

    if not index or df.empty:
        out = df.copy()
        out.attrs["sweep_paths"] = list(index["paths"]) if index else []
        for p in out.attrs["sweep_paths"]:
            out[p] = None
        return out
    paths, pts, uses = index["paths"], index["points"], index["steps"]
    parts = []
    step_col = df["step"].astype(str).map(_step_of)
    for i, pt in enumerate(pts):
        keys = {k for k, idx in uses.items() if i in idx}
        sub = df[step_col.isin(keys)].copy()
        for p in paths:
            sub[p] = [pt[p]] * len(sub)
        parts.append(sub)
    known = set(uses)
    rest = df[~step_col.isin(known)].copy()
    for p in paths:
        rest[p] = None
    parts.append(rest)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["sweep_paths"] = list(paths)
    return out


def sweep_frame(out_dir: str | Path) -> pd.DataFrame:
    """All result rows of a run, with the swept values as columns when the run is a sweep."""
    from xstilts.experiments.results import ResultsStore

    return expand(ResultsStore(out_dir).frame(), read_index(out_dir))
