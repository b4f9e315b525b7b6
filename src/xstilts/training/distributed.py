"""Data-parallel training of one step: ``processes: N`` in a phase launches N workers.

The step runner starts N workers through ``torch.distributed.launcher.elastic_launch`` (the API
under ``torchrun`` and ``accelerate launch --multi_gpu``); in every worker
``accelerate.Accelerator`` picks up the process group (NCCL on GPUs, gloo on CPUs), wraps the
model in DDP and the trainer takes its share of each global batch. Only the main process writes
checkpoints and the final weights; the parent waits and the executor marks the step done as for
any other step, so resume and caching are unchanged.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, TrainingError

CHILD_ENV = "XSTILTS_DISTRIBUTED_CHILD"


def in_worker() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def is_main_worker() -> bool:
    """True outside launched workers (whatever ``RANK`` a scheduler set) and on rank 0."""
    return not in_worker() or os.environ.get("RANK", "0") == "0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(
    step: Any,
    work_dir: Path,
    inputs: dict[str, Path],
    processes: int,
    worker: Callable[[dict[str, Any]], None],
) -> None:
    """Run ``step`` in ``processes`` data-parallel workers, each calling ``worker(spec)`` (a
    module-level function of the caller, so it pickles by name and training never imports the
    pipeline); returns when all have finished."""
    import torch
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from xstilts.models.device import detect

    if detect().cuda and processes > torch.cuda.device_count():
        raise ConfigError(
            f"processes: {processes} but only {torch.cuda.device_count()} GPU(s) are visible",
            where=f"{step.label or step.key}: phase.processes",
        )
    spec = {
        "kind": step.kind,
        "params": step.params,
        "deps": step.deps,
        "label": step.label,
        "key": step.key,
        "work_dir": str(work_dir),
        "inputs": {k: str(v) for k, v in inputs.items()},
        # the caller's thread budget (an executor may have lowered it), shared by the workers
        "threads": max(1, torch.get_num_threads() // processes),
    }
    path = work_dir / "launch.json"
    path.write_text(json.dumps(spec, default=str), encoding="utf-8")
    for old in work_dir.glob("worker-error-*.txt"):
        old.unlink()
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=processes,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{_free_port()}",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    try:
        elastic_launch(config, _entry)(str(path), worker)
    except ChildFailedError as e:
        raise TrainingError(
            f"data-parallel training with {processes} processes failed: {_failure(work_dir, e)}",
            where=step.label or step.key,
        ) from None
    finally:  # launcher files must not end up in the step's output (nor be hard-linked by --reuse)
        path.unlink(missing_ok=True)
        for f in work_dir.glob("worker-error-*.txt"):
            f.unlink()


def _failure(work_dir: Path, e: Any) -> str:
    """The first failed worker's own reason; the others usually only saw their peer vanish."""
    rank, _ = e.get_first_failure()
    first = work_dir / f"worker-error-{rank}.txt"
    files = sorted(work_dir.glob("worker-error-*.txt"), key=lambda f: f.stat().st_mtime)
    for f in [first, *files]:
        if f.exists():
            return f.read_text(encoding="utf-8").strip()
    text = str(e).strip()
    return text.splitlines()[0] if text else "a worker died"


def _entry(path: str, worker: Callable[[dict[str, Any]], None]) -> None:
    """One worker: mark it as a child, then run the step; a failure leaves its one-line reason."""
    os.environ[CHILD_ENV] = "1"
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(int(spec.get("threads", 1)))
    try:
        worker(spec)
    except BaseException as e:  # the parent only sees an exit code: leave the reason beside it
        msg = f"{type(e).__name__}: {e}".splitlines()[0]
        rank = os.environ.get("RANK", "0")
        (Path(spec["work_dir"]) / f"worker-error-{rank}.txt").write_text(msg, encoding="utf-8")
        raise
