"""Scale-out: two independent pipelines with ``--executor ray`` (2 local CPUs) vs ``local``.

Two baseline chains (train a target, evaluate it) share nothing, so Ray runs them side by side,
each step a Ray task with one CPU (torch limited to it); ``local`` runs them one after the other
with all cores. Wall time of the whole ``xstilts run`` (including Ray's start) for both; the goal
is ray <= 0.65x local. If the Ray executor is missing, the result says so.

Each training step runs 60 optimizer steps (about half a minute): with a dozen, as before, the
figure measured process and Ray start-up rather than scheduling. ``thread_scaling`` records how
much faster one step runs on all cores than on one: two one-core steps side by side can at best
reach half that speed-up as a wall-time ratio.

    python benchmarks/bench_scaleout.py [--steps 60 --cpus 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, run_child, write_result  # noqa: E402
from bench_grid import count, run  # noqa: E402


def config(a) -> dict:
    phase = {
        "learning_rate": 5e-5,
        "max_steps": a.steps,
        "batch_size": 16,
        "max_length": 64,
        "freeze_embeddings": True,
        "select_best": False,
        "max_examples": a.steps * 16,
        "dev_split": None,
    }
    return {
        "name": "bench-scaleout",
        "model": "offline",
        "baseline": True,
        "targets": ["xnli", "pawsx"],
        "seeds": [1],
        "phases": {"target": phase},
        "task_overrides": {"xnli": {"train_split": "test"}, "pawsx": {"train_split": "dev"}},
        "evaluation": {
            "split": "dev",
            "languages": ["en", "de"],
            "max_examples": 64,
            "save_predictions": False,
        },
        "cache_features": False,
    }


def child_threads(a) -> dict:
    """Seconds per training step (batch 16, length 64, the bench's phase) at ``a.threads``.

    Two parallel one-thread steps can at best take ``t(1) / (2 * t(1) / t(n))`` of two sequential
    n-thread steps, i.e. ``speed-up(n) / 2`` for n = 2: the ceiling for any scheduler here.
    """
    import time

    import torch

    torch.set_num_threads(a.threads)
    from xstilts.experiments.pipeline import add_task_head, build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.tasks.registry import get_task

    torch.manual_seed(0)
    ref = resolve_model("offline")
    model, _ = build_model(ref, {})
    add_task_head(model, get_task("xnli"), ref.pooling)
    model.freeze_embeddings()
    x = torch.randint(5, 20000, (16, 64))
    mask = torch.ones_like(x)

    def step() -> None:
        model("xnli", input_ids=x, attention_mask=mask).float().logsumexp(-1).mean().backward()

    step()
    t = time.perf_counter()
    for _ in range(a.reps):
        step()
    return {"threads": a.threads, "seconds_per_step": round((time.perf_counter() - t) / a.reps, 4)}


def thread_scaling(cpus: int) -> dict:
    one = run_child([__file__, "--child-threads", "1"])["seconds_per_step"]
    many = run_child([__file__, "--child-threads", str(cpus)])["seconds_per_step"]
    return {
        "seconds_per_step": {"1": one, str(cpus): many},
        f"speedup_{cpus}_threads": round(one / many, 3),
        "best_possible_ratio_two_parallel_steps": round(one / (2 * many), 3) if cpus == 2 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child-threads", dest="threads", type=int)
    ap.add_argument("--reps", type=int, default=6)
    a = ap.parse_args()
    if a.threads:
        emit(child_threads(a))
        return
    payload: dict = {"settings": vars(a), "goal": "ray wall <= 0.65x local (sequential)"}
    have_ray = importlib.util.find_spec("ray") is not None
    have_exec = importlib.util.find_spec("xstilts.experiments.ray_executor") is not None
    if not (have_ray and have_exec):
        payload["status"] = "not run: " + (
            "xstilts.experiments.ray_executor is missing" if not have_exec else "ray missing"
        )
        write_result("scaleout", payload, a.out)
        return
    tmp = Path(tempfile.mkdtemp(prefix="xstilts-bench-ray-"))
    try:
        local = run(config(a), tmp / "local")
        ray = run(config(a), tmp / "ray", ["--executor", "ray", "--ray-cpus", str(a.cpus)])
        payload.update(
            {
                "status": "ran",
                "local": {"seconds": round(local, 1), "steps": count(tmp / "local")},
                "ray": {"seconds": round(ray, 1), "steps": count(tmp / "ray")},
                "ratio": {"wall_ray/local": round(ray / local, 3)},
                # why the ratio is what it is: how well one step already uses all the cores
                "thread_scaling": thread_scaling(a.cpus),
            }
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result("scaleout", payload, a.out)


if __name__ == "__main__":
    main()
