"""``xstilts demo`` end to end, as ``make demo`` runs it: wall time, CPU time and load.

The goal is at most 6 minutes on 2 CPU cores. CPU seconds (user + system of the demo process
and its children) hardly depend on other load on the machine, wall seconds do: both are written,
with the load average before and after, so a figure measured on a busy machine says so.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_demo.py [--out DIR]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import ROOT, write_result  # noqa: E402

GOAL_S = 360.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None, help="Demo output dir (default: a temp dir).")
    ap.add_argument("--result", type=Path, default=None, help="JSON path (default: results/).")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xstilts-demo-bench-"))
    out = args.out or tmp / "demo"
    shutil.rmtree(out, ignore_errors=True)
    xstilts = Path(sys.executable).with_name("xstilts")
    load_before = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    r0 = os.times()
    proc = subprocess.run(
        [str(xstilts), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=ROOT,
    )
    wall = time.perf_counter() - t0
    r1 = os.times()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"demo failed ({proc.returncode})")
    steps = {}
    for done in sorted((out / "steps").glob("*/done.json")):
        m = json.loads(done.read_text())
        steps[m["kind"]] = steps.get(m["kind"], 0.0) + float(m.get("seconds", 0.0))
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    write_result(
        "demo",
        {
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "goal_wall_s": GOAL_S,
            "within_goal": wall <= GOAL_S,
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "step_seconds_by_kind": {k: round(v, 1) for k, v in steps.items()},
            "console_tail": proc.stdout[-4000:],
        },
        args.result,
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
