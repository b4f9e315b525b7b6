"""Optional experiment tracking: MLflow or Weights & Biases, when installed and asked for.

``xstilts run grid.yaml --track mlflow`` (or ``wandb``) logs every step that runs: its params
(flattened), its result rows as metrics and, for training steps, the loss and dev-score history.
The results store stays the source of truth; trackers only mirror it, from the driver process, so
they work the same with the ``local`` and the ``ray`` executor. Steps reused from the cache were
logged when they ran and are not logged again.

MLflow: one parent run per ``xstilts run`` (named after the experiment) with a nested run per
step; where it logs is MLflow's own setting (``MLFLOW_TRACKING_URI``). W&B: one run per step,
grouped by the experiment name, in project ``$WANDB_PROJECT`` (default ``xstilts``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from xstilts.errors import XstiltsError
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.steps import Step
from xstilts.experiments.store import ArtifactStore

TRACKERS = ("mlflow", "wandb")
_INSTALL = {"mlflow": "pip install mlflow", "wandb": "pip install wandb"}
_MAX_PARAM = 500  # characters of one param value (MLflow refuses very long values)


class Tracker(Protocol):
    def start(self, name: str, params: dict[str, Any]) -> None: ...
    def log_step(self, step: Step, out_dir: Path) -> None: ...
    def finish(self, status: str = "FINISHED") -> None: ...


def make_tracker(name: str | None) -> Tracker | None:
    """The tracker for ``--track NAME``; a one-line error when unknown or not installed."""
    if not name:
        return None
    if name not in TRACKERS:
        raise XstiltsError(
            f"unknown tracker {name!r} (known: {', '.join(TRACKERS)})", where="--track"
        )
    try:
        module = __import__(name)
    except ImportError:
        raise XstiltsError(
            f"--track {name} needs the {name} package: {_INSTALL[name]}", where="--track"
        ) from None
    return MlflowTracker(module) if name == "mlflow" else WandbTracker(module)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params as ``a.b.c`` -> short strings (lists as JSON), for a tracker's param table."""
    out: dict[str, str] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
            out[key] = text[:_MAX_PARAM]
    return out


def _metric_name(*parts: str) -> str:
    return "/".join(re.sub(r"[^\w\-. ]", "_", str(p)) for p in parts if p)


def step_record(step: Step, out_dir: Path) -> dict[str, Any]:
    """What a tracker logs for a finished step: params, metrics, per-step history, tags."""
    params = flatten(
        {
            "key": step.key,
            "kind": step.kind,
            **{f"dep.{r}": k for r, k in step.deps.items()},
            **step.params,
        }
    )
    metrics: dict[str, float] = {}
    rows_file = ResultsStore(out_dir).dir / f"{step.key}.json"
    if rows_file.exists():
        for r in json.loads(rows_file.read_text(encoding="utf-8")):
            if r.get("value") is None:
                continue
            pert = r.get("perturbation")
            name = _metric_name(
                r.get("task", ""),
                "" if pert in (None, "none") else pert,
                r.get("language", ""),
                r.get("metric", ""),
            )
            metrics[name] = float(r["value"])
    history: list[tuple[int, dict[str, float]]] = []
    meta_file = ArtifactStore(out_dir).path(step.key) / "meta.json"
    if meta_file.exists():  # training steps: loss and dev score at each evaluation point
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        for rec in meta.get("history") or []:
            vals = {
                k: float(rec[k])
                for k in ("loss", "dev_main")
                if isinstance(rec.get(k), int | float)
            }
            history.append((int(rec.get("step", 0)), vals))
        for k in ("examples_seen", "seconds"):
            if isinstance(meta.get(k), int | float):
                metrics[f"train/{k}"] = float(meta[k])
    done = ArtifactStore(out_dir).path(step.key) / "done.json"
    if done.exists():
        metrics["step/seconds"] = float(json.loads(done.read_text()).get("seconds", 0.0))
    return {
        "name": step.label or step.key,
        "params": params,
        "metrics": metrics,
        "history": history,
        "tags": {"xstilts.key": step.key, "xstilts.kind": step.kind},
    }


class MlflowTracker:
    """A parent run for the invocation, a nested run per step."""

    def __init__(self, mlflow: Any) -> None:
        self.mlflow = mlflow
        self.parent: Any = None

    def start(self, name: str, params: dict[str, Any]) -> None:
        self.mlflow.set_experiment(name)
        self.parent = self.mlflow.start_run(run_name=name)
        self.mlflow.log_params(flatten(params))

    def log_step(self, step: Step, out_dir: Path) -> None:
        rec = step_record(step, out_dir)
        mlflow = self.mlflow
        with mlflow.start_run(run_name=rec["name"], nested=True):
            mlflow.set_tags(rec["tags"])
            mlflow.log_params(rec["params"])
            for i, vals in rec["history"]:
                for k, v in vals.items():
                    mlflow.log_metric(f"train/{k}", v, step=i)
            if rec["metrics"]:
                mlflow.log_metrics(rec["metrics"])

    def finish(self, status: str = "FINISHED") -> None:
        if self.parent is not None:
            self.mlflow.end_run(status=status)
            self.parent = None


class WandbTracker:
    """One W&B run per step, grouped by the experiment name."""

    def __init__(self, wandb: Any) -> None:
        self.wandb = wandb
        self.group = "xstilts"
        self.config: dict[str, str] = {}

    def start(self, name: str, params: dict[str, Any]) -> None:
        self.group = name
        self.config = flatten(params)

    def log_step(self, step: Step, out_dir: Path) -> None:
        import os

        rec = step_record(step, out_dir)
        run = self.wandb.init(
            project=os.environ.get("WANDB_PROJECT", "xstilts"),
            group=self.group,
            name=rec["name"],
            job_type=step.kind,
            config={**{f"run.{k}": v for k, v in self.config.items()}, **rec["params"]},
            tags=[step.kind],
        )
        for i, vals in rec["history"]:
            run.log({f"train/{k}": v for k, v in vals.items()}, step=i)
        run.summary.update(rec["metrics"])
        run.finish()

    def finish(self, status: str = "FINISHED") -> None:
        pass
