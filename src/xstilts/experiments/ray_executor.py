"""The Ray executor: every step a Ray task, submitted as soon as its dependencies are done.

``xstilts run grid.yaml --executor ray`` starts a local Ray instance (``ray.init(num_cpus=...)``)
or joins a cluster with ``--ray-address``. Each step runs as a task with the resources its plan
entry asks for (``num_cpus``, ``num_gpus``, ``memory`` from ``Step.resources``), so independent
steps (the intermediate checkpoints of a grid, the targets after one of them, all evaluations)
run in parallel while a target still waits for the checkpoint it starts from.

Artefacts go through ``run_step`` into the output directory exactly as with ``local``: on a
cluster it must be a path every node sees (NFS, a shared volume), and so must ``$XSTILTS_CACHE``
and the data. A killed driver or worker loses only the steps in flight; the same command
(with either executor) resumes from the artefacts and ``train_state`` checkpoints on disk.

Multi-GPU training of a *single* step is not Ray's job: Ray schedules whole steps (one GPU each
with ``resources: {train: {num_gpus: 1}}``); a phase with ``processes: N`` trains its step
data-parallel in N workers (``xstilts.training.distributed``; give it ``num_gpus: N``).

Ray is optional: ``pip install 'xstilts[ray]'``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstilts.errors import XstiltsError
from xstilts.experiments.executors import (
    ProgressFactory,
    RunSummary,
    refresh_labels,
    run_step,
    split_cached,
)
from xstilts.experiments.plan import Plan
from xstilts.experiments.steps import Step

INSTALL_HINT = (
    "the ray executor needs Ray: pip install 'xstilts[ray]' (or pip install 'ray[default]')"
)

# Environment a worker on another node needs to find the same cache, tasks and data.
_FORWARDED_ENV = (
    "XSTILTS_CACHE",
    "XSTILTS_TASKS",
    "XSTILTS_DATA_DIR",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
)
_RAY_OPTIONS = ("num_cpus", "num_gpus", "memory")


def import_ray() -> Any:
    """``ray``, or a one-line error saying how to install it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise XstiltsError(INSTALL_HINT, where="--executor ray") from None
    return ray


def _run_remote(step: Step, out_dir: str, threads: int) -> dict[str, float]:
    """Body of the Ray task: one step into the shared store, torch limited to its CPUs."""
    import torch

    torch.set_num_threads(max(1, threads))
    start, cpu = time.time(), time.process_time()
    secs = run_step(step, Path(out_dir))
    return {
        "seconds": secs,
        "start": start,
        "end": time.time(),
        "cpu": time.process_time() - cpu,  # CPU seconds: below the wall time when starved
        "pid": os.getpid(),
    }


class RayExecutor:
    """Submits ready steps as Ray tasks; on a failure, lets running steps finish, then raises.

    ``cfg`` keys: ``address`` (join this cluster; default: start a local instance), ``num_cpus``
    and ``num_gpus`` (of the local instance; default: the machine's), ``resources`` (per step
    kind, overriding ``Step.resources``, e.g. ``{"train": {"num_gpus": 1}}``),
    ``object_store_memory`` (bytes, local instance; steps exchange only paths, so it is small).
    On a cluster with GPUs a step that names no ``num_gpus`` gets one.
    """

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        cfg = dict(cfg or {})
        self.ray = import_ray()
        self.address: str | None = cfg.get("address")
        self.num_cpus: int | None = cfg.get("num_cpus")
        self.num_gpus: int | None = cfg.get("num_gpus")
        self.resources: dict[str, dict[str, float]] = cfg.get("resources") or {}
        self.object_store_memory: int = int(cfg.get("object_store_memory", 256 * 2**20))
        self.timings: dict[str, dict[str, float]] = {}  # key -> start/end/pid, for inspection
        self.cluster_gpus = 0.0  # set when running: GPUs of the Ray cluster

    def _init(self) -> bool:
        """Start or join Ray; True when this call started it (and so shuts it down)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        kw: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
        }
        if self.address:
            env = {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}
            kw["runtime_env"] = {"env_vars": env} if env else None
            ray.init(address=self.address, **kw)
        else:
            ray.init(
                num_cpus=self.num_cpus or os.cpu_count() or 1,
                num_gpus=self.num_gpus,
                object_store_memory=self.object_store_memory,
                **kw,
            )
        return True

    def options(self, step: Step) -> dict[str, Any]:
        """Ray task options from the step's resources (Ray's own names; others as custom)."""
        res = {**step.resources, **self.resources.get(step.kind, {})}
        if "num_gpus" not in res and self.cluster_gpus >= 1:
            # Ray hides GPUs from tasks that ask for none: without this, training on a GPU
            # cluster would silently run on CPU.
            res["num_gpus"] = 1
        opts: dict[str, Any] = {k: res[k] for k in _RAY_OPTIONS if k in res}
        custom = {k: float(v) for k, v in res.items() if k not in _RAY_OPTIONS}
        if custom:
            opts["resources"] = custom
        opts.setdefault("num_cpus", 1)
        if "memory" in opts:
            opts["memory"] = int(opts["memory"])
        opts["max_retries"] = 1  # a worker lost mid-step (OOM, node down) resumes from its state
        opts["retry_exceptions"] = False  # a failing step fails the same way again
        return opts

    def run(
        self,
        plan: Plan,
        out_dir: Path,
        progress: ProgressFactory | None = None,
        on_step: Callable[[Step, str], None] | None = None,
    ) -> RunSummary:
        ray = self.ray
        out_dir = Path(out_dir).resolve()
        summary = RunSummary()
        done_steps, todo = split_cached(plan, out_dir)
        done: set[str] = set()
        for step in done_steps:
            refresh_labels(step, out_dir)
            summary.cached.append(step.key)
            done.add(step.key)
            if on_step:
                on_step(step, "cached")
        if not todo:
            return summary
        started = self._init()
        try:
            self._loop(ray, todo, done, out_dir, summary, on_step)
        finally:
            if started:
                ray.shutdown()
        return summary

    def _loop(self, ray, todo, done, out_dir, summary, on_step) -> None:
        remote = ray.remote(_run_remote)
        self.cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
        waiting = {s.key: s for s in todo}
        inflight: dict[Any, Step] = {}
        errors: list[tuple[Step, BaseException]] = []

        def submit_ready() -> None:
            for key, step in list(waiting.items()):
                if all(d in done for d in step.deps.values()):
                    del waiting[key]
                    opts = self.options(step)
                    ref = remote.options(**opts).remote(
                        step, str(out_dir), int(opts.get("num_cpus") or 1)
                    )
                    inflight[ref] = step
                    if on_step:
                        on_step(step, "start")

        submit_ready()
        while inflight:
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                step = inflight.pop(ref)
                try:
                    info = ray.get(ref)
                except Exception as exc:  # RayTaskError wraps the step's own exception
                    errors.append((step, getattr(exc, "cause", None) or exc))
                    if on_step:
                        on_step(step, "failed")
                    continue
                done.add(step.key)
                summary.ran.append(step.key)
                summary.seconds[step.key] = info["seconds"]
                self.timings[step.key] = info
                if on_step:
                    on_step(step, "done")
            if not errors:  # after a failure, only the steps already running finish
                submit_ready()
        if errors:
            step, exc = errors[0]
            if isinstance(exc, XstiltsError):
                raise exc
            raise RuntimeError(f"step {step.label or step.key} failed on Ray: {exc}") from exc
        if waiting:
            missing = sorted({d for s in waiting.values() for d in s.deps.values()} - done)
            raise RuntimeError(f"steps wait for dependencies outside the plan: {missing[:3]}")
