"""Grid reuse: 3 intermediate tasks x 3 targets as one xstilts grid vs 9 naive pipelines.

The grid trains each intermediate once and starts all three targets from it (3 + 9 trainings);
the naive way runs each (intermediate, target) pipeline on its own (9 + 9 trainings), one
``xstilts run`` per pair in a fresh output directory, as a script per pair would. Tiny sizes
(a few steps each); feature caching off for both, so only step reuse differs. Trainings are
counted from the finished steps' ``done.json``.

    python benchmarks/bench_grid.py [--steps 2 --examples 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT, write_result  # noqa: E402

INTERMEDIATE = ["demo-nli", "xnli", "pawsx"]
TARGETS = ["demo-sentiment", "xnli", "pawsx"]


def config(inter: list[str], targets: list[str], a) -> dict:
    phase = {
        "learning_rate": 5e-5,
        "max_steps": a.steps,
        "batch_size": 8,
        "max_length": 48,
        "freeze_embeddings": True,
        "select_best": False,
        "max_examples": a.examples,
        "dev_split": None,
    }
    return {
        "name": "bench-grid",
        "model": "offline",
        "intermediate": inter,
        "baseline": False,
        "targets": targets,
        "seeds": [1],
        "phases": {"intermediate": phase, "target": phase},
        "task_overrides": {"xnli": {"train_split": "test"}, "pawsx": {"train_split": "dev"}},
        "evaluation": {
            "split": "dev",  # the one split all three targets have locally (English)
            "languages": ["en"],
            "max_examples": a.examples,
            "save_predictions": False,
        },
        "cache_features": False,
    }


def run(cfg: dict, out: Path, extra: list[str] | None = None) -> float:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "grid.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [str(Path(sys.executable).parent / "xstilts"), "run", str(path), "--out", str(out)]
    cmd += ["--data-dir", str(DATA), "--no-report", *(extra or [])]
    t = time.perf_counter()
    p = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    secs = time.perf_counter() - t
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-2000:] + p.stderr[-4000:])
        raise RuntimeError(f"xstilts run failed: {' '.join(cmd)}")
    return secs


def count(out: Path) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for f in out.rglob("done.json"):
        k = json.loads(f.read_text()).get("kind", "?")
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--examples", type=int, default=16)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xstilts-bench-grid-"))
    try:
        grid_secs = run(config(INTERMEDIATE, TARGETS, a), tmp / "grid")
        grid_counts = count(tmp / "grid")
        naive_secs, naive_counts = 0.0, {}
        for i in INTERMEDIATE:
            for t in TARGETS:
                d = tmp / f"naive-{i}-{t}"
                naive_secs += run(config([i], [t], a), d)
                for k, v in count(d).items():
                    naive_counts[k] = naive_counts.get(k, 0) + v
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(
        "grid",
        {
            "settings": vars(a) | {"intermediate": INTERMEDIATE, "targets": TARGETS},
            "grid": {"seconds": round(grid_secs, 1), "steps": grid_counts},
            "naive_9_pipelines": {"seconds": round(naive_secs, 1), "steps": naive_counts},
            "ratio": {
                "wall_grid/naive": round(grid_secs / naive_secs, 3),
                "trainings_grid/naive": f"{grid_counts.get('train', 0)}/"
                f"{naive_counts.get('train', 0)}",
            },
        },
        a.out,
    )


if __name__ == "__main__":
    main()
