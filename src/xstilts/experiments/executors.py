"""Executors run a plan: the steps whose artefacts are missing, each after its dependencies.

``local`` runs in this process, in plan order. Executors are registry entries, so a cluster
executor (``ray``, in ``ray_executor.py``) is the same plan submitted differently: every executor
runs a step through ``run_step``, which writes into the shared artefact store, so a plan started
with one executor can be finished by another, and a killed run resumes with either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xstilts.determinism import apply_from_env
from xstilts.errors import DataError
from xstilts.experiments.atomic import disk_errors, write_json
from xstilts.experiments.plan import Plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.steps import Step, StepContext, get_runner
from xstilts.experiments.store import ArtifactStore, settle
from xstilts.guardio import warn
from xstilts.registry import Registry


@dataclass
class RunSummary:
    ran: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ran": len(self.ran),
            "cached": len(self.cached),
            "ran_keys": self.ran,
            "seconds": self.seconds,
        }


ProgressFactory = Callable[[str, int], Any]
EXECUTORS: Registry = Registry("executor")


def run_step(step: Step, out_dir: Path, progress: ProgressFactory | None = None) -> float:
    """Run one step into the artefact store and record its result rows (idempotent)."""
    store, results = ArtifactStore(out_dir), ResultsStore(out_dir)
    if store.done(step.key):
        return 0.0
    inputs = {role: store.path(key) for role, key in step.deps.items()}
    for role, key in step.deps.items():
        if not store.done(key):
            raise RuntimeError(f"step {step.key} needs {role} {key}, which has not finished")
    apply_from_env()  # XSTILTS_DETERMINISTIC=1: deterministic GPU kernels in every worker
    with disk_errors(store.root):  # a full disk or unwritable --out: one line naming where
        ctx = StepContext(work_dir=store.work(step.key), inputs=inputs, progress=progress)
        t0 = time.perf_counter()
        rows = get_runner(step.kind)(step, ctx)
        secs = time.perf_counter() - t0
        if rows:
            results.write(step.key, rows)
        store.finish(
            step.key,
            {
                "kind": step.kind,
                "label": step.label,
                "params": step.params,
                "deps": step.deps,
                "seconds": secs,
                "rows": len(rows),
            },
        )
    return secs


def refresh_labels(step: Step, out_dir: Path) -> bool:
    """Give a reused step's rows this run's labels (run id, config hash...): they are not in its key.

    Renaming a run or adding a seed to a grid changes the labels but not what a step computes,
    so the step is reused and only its rows file is rewritten (atomically). True if it changed.
    """
    labels = step.params.get("labels")
    path = ResultsStore(out_dir).dir / f"{step.key}.json"
    if not labels or not path.exists():
        return False
    rows = ResultsStore(out_dir).read(step.key)  # validated: settle() set a damaged one aside
    changed = False
    for row in rows:
        for k, v in labels.items():
            if k in row and row[k] != v:
                row[k] = v
                changed = True
    if changed:
        write_json(path, rows)
    return changed


def adopt_trained(plan: Plan, out_dir: Path, sources: list[Path]) -> list[str]:
    """Hard-link finished training steps with the same content key from other output dirs.

    Keys hash everything a step computes from, so a checkpoint trained for one study is the
    checkpoint another study would train: studies that share a baseline or an intermediate task
    train it once. Only ``train`` steps are adopted (they carry no result rows, whose run labels
    would belong to the other study). Returns the adopted keys.
    """
    store = ArtifactStore(out_dir)
    adopted: list[str] = []
    for step in plan.steps.values():
        if step.kind != "train" or store.done(step.key):
            continue
        for src in sources:
            other = ArtifactStore(src)
            if not other.done(step.key):
                continue
            try:
                store.adopt(step.key, other)
            except DataError as exc:  # damaged over there: try the next source, else train
                warn(f"not reused: {exc.one_line()}")
                continue
            adopted.append(step.key)
            break
    return adopted


def split_cached(plan: Plan, out_dir: Path) -> tuple[list[Step], list[Step]]:
    """(finished steps, steps still to run), both in plan order."""
    done, todo = [], []
    for step in plan.steps.values():
        (done if settle(out_dir, step.key) else todo).append(step)  # damaged: set aside, redo
    return done, todo


@EXECUTORS.register("local")
class LocalExecutor:
    """In process, in plan order (a topological order by construction)."""

    def __init__(self, _cfg: Any = None) -> None:
        pass

    def run(
        self,
        plan: Plan,
        out_dir: Path,
        progress: ProgressFactory | None = None,
        on_step: Callable[[Step, str], None] | None = None,
    ) -> RunSummary:
        summary = RunSummary()
        for step in plan.steps.values():
            if settle(out_dir, step.key):  # finished and intact; a damaged one is set aside
                refresh_labels(step, out_dir)
                summary.cached.append(step.key)
                if on_step:
                    on_step(step, "cached")
                continue
            if on_step:
                on_step(step, "start")
            summary.seconds[step.key] = run_step(step, out_dir, progress)
            summary.ran.append(step.key)
            if on_step:
                on_step(step, "done")
        return summary


@EXECUTORS.register("ray")
def ray_executor(cfg: dict[str, Any] | None = None) -> Any:
    """Each step a Ray task with its resources; independent steps in parallel (``xstilts[ray]``)."""
    from xstilts.experiments.ray_executor import RayExecutor

    return RayExecutor(cfg)
