"""``make fuzz``: the reliability suite's fuzz cases at scale, from a seeded generator.

The default test suite runs about 200 Hypothesis cases per reader; this runs ``--cases`` (10,000
by default) per reader, task-file set and experiment config, each case drawn from
``random.Random("<seed>:<target>:<i>")`` with the same mutations as the suite (``relkit``), in
``--workers`` processes, every case under the suite's 10-second alarm. Unlike a Hypothesis test
it does not stop at the first failure: it counts, per reader, the cases, how they ended, the
unhandled ones and the timeouts, prints the table, writes it as Markdown (``--report``) and exits
non-zero if any case was unhandled or timed out. The first few failing cases per reader are
printed with their case index, so ``--only READER --first I --cases 1`` replays one.

    python scripts/fuzz.py --cases 10000 --workers 2 --report docs/results/fuzz.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REL = ROOT / "tests" / "reliability"
sys.path[:0] = [str(REL), str(ROOT / "tests")]

CHUNK = 100  # cases per job handed to a worker
_STATE: dict = {}


def _targets() -> list[str]:
    from test_fuzz_configs import CONFIG_SEEDS
    from test_fuzz_readers import TARGETS

    return [*TARGETS, "task yaml", *(f"experiment config:{s}" for s in sorted(CONFIG_SEEDS))]


def _init(cache: str, data: str) -> None:
    os.environ["XSTILTS_CACHE"] = cache
    os.environ["HF_HUB_OFFLINE"] = "1"
    _STATE["data"] = Path(data)


def _case_fn(target: str):
    """``(rng) -> None``: draws one case for ``target`` and runs it (raising on failure)."""
    import relkit

    if target == "task yaml" or target.startswith("experiment config:"):
        import test_fuzz_configs as fc

        inserts = relkit.INSERTS + fc.YAML_INSERTS
        if target == "task yaml":
            return lambda rng: fc.task_yaml_case(relkit.random_case(rng, False, inserts))
        seed = target.split(":", 1)[1]
        return lambda rng: fc.config_case(seed, relkit.random_case(rng, False, inserts))
    import test_fuzz_readers as fr

    if not fr._SEEDS:
        fr._SEEDS.update(fr._seeds(_STATE["data"]))
    seed = fr._SEEDS[target]
    return lambda rng: fr.reader_case(target, seed, relkit.random_case(rng, bool(seed.json_mode)))


def _job(args: tuple[str, int, int, int]) -> tuple[str, dict, list[str], float]:
    target, seed, first, n = args
    import relkit

    run = _case_fn(target)
    name = "experiment config" if target.startswith("experiment config:") else target
    relkit.STATS.clear()
    fails: list[str] = []
    t0 = time.perf_counter()
    for i in range(first, first + n):
        try:
            run(random.Random(f"{seed}:{target}:{i}"))
        except AssertionError as exc:  # unhandled, a timeout, or an error not naming the file
            if len(fails) < 3:
                fails.append(f"{target} case {i}: {' '.join(str(exc).split())[:300]}")
            if ": unhandled " not in str(exc):  # run_case counted those; an own error that
                relkit.STATS[name].unhandled += 1  # does not name the file counts as well
    return name, asdict(relkit.STATS[name]), fails, time.perf_counter() - t0


def _write_report(a, stats, fails, secs, wall: float, *, finished: bool) -> None:
    import relkit

    cmd = shlex.join(["python", "scripts/fuzz.py", *sys.argv[1:]])
    state = (
        "finished"
        if finished
        else "**cut short** (snapshot of the cases finished so far; the counts are exact)"
    )
    lo = min((t.cases for t in stats.values()), default=0)
    a.report.parent.mkdir(parents=True, exist_ok=True)
    a.report.write_text(
        "# Fuzz run (`make fuzz`)\n\n"
        f"Command: `{cmd}` from the repository root (`make fuzz` runs it with "
        "`FUZZ_CASES=10000 FUZZ_WORKERS=2`).\n\n"
        f"Run {state}: at least {lo:,} of {a.cases:,} cases per reader (case indices from "
        f"{a.first}, seed {a.seed}), {a.workers} worker processes, each case under a "
        f"{relkit.CASE_TIMEOUT_S:.0f} s alarm; wall time {wall / 60:.1f} min on "
        f"{platform.machine()} with {os.cpu_count()} CPUs (shared with other jobs), "
        f"Python {platform.python_version()}.\n\n"
        "```\n"
        + "\n".join(relkit.fuzz_table(stats))
        + "\n```\n\n"
        + ("Failures:\n\n" + "\n".join(f"* {f}" for f in fails) + "\n\n" if fails else "")
        + "CPU seconds per reader: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(secs.items()))
        + ".\n",
        encoding="utf-8",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=int(os.environ.get("FUZZ_CASES", 10_000)))
    ap.add_argument("--workers", type=int, default=int(os.environ.get("FUZZ_WORKERS", 2)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first", type=int, default=0, help="index of the first case")
    ap.add_argument("--only", nargs="*", help="these readers only")
    ap.add_argument("--report", type=Path, help="write the summary here (Markdown)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    a = ap.parse_args()

    import multiprocessing as mp

    import relkit

    from xstilts.models.offline import offline_encoder_dir

    enc = offline_encoder_dir()  # converted once, in the user's cache
    cache = Path(tempfile.mkdtemp(prefix="xstilts-fuzz-cache-"))
    (cache / "models").mkdir()
    (cache / "models" / enc.name).symlink_to(enc, target_is_directory=True)
    targets = [t for t in _targets() if not a.only or t in a.only]
    jobs = [
        (t, a.seed, a.first + s, min(CHUNK, a.cases - s))
        for s in range(0, a.cases, CHUNK)
        for t in targets
    ]
    t0 = time.perf_counter()
    stats: dict[str, relkit.Tally] = {}
    fails: list[str] = []
    secs: dict[str, float] = {}
    jobs_done = 0
    ctx = mp.get_context("fork")
    with ctx.Pool(a.workers, initializer=_init, initargs=(str(cache), str(a.data))) as pool:
        for name, tally, f, dt in pool.imap_unordered(_job, jobs):
            acc = stats.setdefault(name, relkit.Tally())
            for k, v in tally.items():
                setattr(acc, k, getattr(acc, k) + v)
            secs[name] = secs.get(name, 0.0) + dt
            fails += f
            done = sum(t.cases for t in stats.values())
            print(f"\r{done:,} / {a.cases * len(targets):,} cases", end="", file=sys.stderr)
            jobs_done += 1
            if a.report and jobs_done % len(targets) == 0:  # a snapshot, should the run be cut
                _write_report(a, stats, fails, secs, time.perf_counter() - t0, finished=False)
    wall = time.perf_counter() - t0
    print(file=sys.stderr)
    lines = relkit.fuzz_table(stats)
    for ln in lines:
        print(ln)
    for f in fails:
        print("FAIL", f)
    print(f"wall {wall:.0f} s on {a.workers} workers")
    if a.report:
        _write_report(a, stats, fails, secs, wall, finished=True)
    shutil.rmtree(cache, ignore_errors=True)
    bad = sum(t.unhandled + t.timeouts for t in stats.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
