"""Scale-out: two independent pipelines with ``--executor ray`` (2 local CPUs) vs ``local``.

Two baseline chains (train a target, evaluate it) share nothing, so Ray runs them side by side,
each step a Ray task with one CPU (torch limited to it); ``local`` runs them one after the other
with all cores. Wall time of the whole ``xstilts run`` (including Ray's start) for both; the goal
is ray <= 0.65x local. If the Ray executor is missing, the result says so.

    python benchmarks/bench_scaleout.py [--steps 12 --cpus 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
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
            }
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result("scaleout", payload, a.out)


if __name__ == "__main__":
    main()
