"""Run every benchmark (default sizes: about 20 minutes on 2 idle CPU cores) and write
``benchmarks/results/<name>.json`` plus ``summary.json`` (headline ratios, goals, load).

    make bench                      # = HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run_all.py
    python benchmarks/run_all.py --only train,eval
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, write_result  # noqa: E402

BENCHES = ["train", "eval", "attack", "grid", "scaleout", "memory"]


def headline(name: str, blob: dict) -> dict:
    r = blob.get("ratios") or blob.get("ratio") or {}
    if name == "train":
        return {k: v["examples_per_second"] for k, v in r.items()} | {
            "dev_accuracy_diff": {k: v["dev_accuracy_diff"] for k, v in r.items()}
        }
    if name == "attack":
        return {k: v["speedup_wall_per_example"] for k, v in r.items()}
    if name == "scaleout":
        if blob.get("status") != "ran":
            return {"status": blob.get("status")}
        ceiling = blob["thread_scaling"]["best_possible_ratio_two_parallel_steps"]
        return r | {"ceiling_from_thread_scaling": ceiling}
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(BENCHES))
    a = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    summary: dict = {"load_before": os.getloadavg(), "benchmarks": {}}
    t_all = time.perf_counter()
    for name in a.only.split(","):
        t = time.perf_counter()
        print(f"== {name}", flush=True)
        p = subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")], env=env)
        secs = round(time.perf_counter() - t, 1)
        entry: dict = {"seconds": secs, "rc": p.returncode}
        path = RESULTS / f"{name}.json"
        if p.returncode == 0 and path.exists():
            entry["headline"] = headline(name, json.loads(path.read_text()))
        summary["benchmarks"][name] = entry
        print(f"   {name}: {secs}s rc={p.returncode} {entry.get('headline')}", flush=True)
    summary["total_seconds"] = round(time.perf_counter() - t_all, 1)
    summary["load_after"] = os.getloadavg()
    write_result("summary", summary)
    sys.exit(0 if all(e["rc"] == 0 for e in summary["benchmarks"].values()) else 1)


if __name__ == "__main__":
    main()
