"""Executors run a plan: the steps whose artefacts are missing, each after its dependencies.

``local`` runs in this process, in plan order. Executors are registry entries, so a cluster
executor (Ray) is the same plan submitted differently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xstilts.experiments.plan import Plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.steps import Step, StepContext, get_runner
from xstilts.experiments.store import ArtifactStore
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
        store = ArtifactStore(out_dir)
        for step in plan.steps.values():
            if store.done(step.key):
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
