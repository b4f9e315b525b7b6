"""Shared helpers for the benchmarks: machine facts, child processes, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATA = Path(os.environ.get("XSTILTS_BENCH_DATA", "/work/shared/data"))


def bf16_skip_reason() -> str | None:
    """Why bf16 variants are skipped here (None: the device runs bf16 natively).

    Emulated bf16 (an AVX2-only CPU) is many times slower than fp32: a bf16 training variant ran
    for more than 15 minutes where fp32 took 82 s, so ``make bench`` would not finish. The device
    policy (``xstilts.models.device``) decides, as it does for users' configs.
    """
    from xstilts.models.device import choose_device, detect

    dev = choose_device()
    if detect().native_bf16(dev):
        return None
    return f"no native bf16 on this {dev.type.upper()} (needs AVX512-BF16 or AMX, or bf16 CUDA)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(mod: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:
        return None


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            m: _version(m)
            for m in (
                "xstilts",
                "torch",
                "transformers",
                "accelerate",
                "tokenizers",
                "datasets",
                "textattack",
                "ray",
            )
        },
    }
    return info


def command() -> str:
    return " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    out = out or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "benchmark": name,
        "command": command(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": machine(),
        **payload,
    }
    out.write_text(json.dumps(blob, indent=1, default=str))
    print(f"wrote {out}", file=sys.stderr)
    return out


def run_child(args: list[str], env: dict[str, str] | None = None, timeout: int = 3600) -> dict:
    """Run ``python <args>`` in a fresh process; it prints one JSON line last (its result).

    Adds the wall time and the child's peak resident memory as the kernel accounts it
    (``os.wait4`` rusage of exactly that child: ``ru_maxrss``).
    """
    import tempfile

    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=out,
            stderr=err,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.stderr.write(stdout[-3000:] + stderr[-5000:])
        raise RuntimeError(f"child failed ({proc.returncode}): {' '.join(args)}")
    line = [ln for ln in stdout.splitlines() if ln.startswith("{")][-1]
    res = json.loads(line)
    res["process_wall_s"] = round(wall, 2)
    res["child_maxrss_mb"] = round(usage.ru_maxrss / 1024, 1)
    return res


def peak_rss_mb() -> float:
    """This process's peak resident set (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def read_xnli(split: str, lang: str, n: int | None) -> list[dict[str, Any]]:
    labels = ["entailment", "neutral", "contradiction"]
    out = []
    path = DATA / "xnli" / f"{split}-{lang}.tsv"
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            a, b, lab = line.rstrip("\n").split("\t")[:3]
            out.append(
                {"id": f"{lang}-{split}-{i}", "text_a": a, "text_b": b, "label": labels.index(lab)}
            )
            if n is not None and len(out) >= n:
                break
    return out


def emit(result: dict[str, Any]) -> None:
    """A child's last stdout line."""
    result.setdefault("peak_rss_mb", peak_rss_mb())
    print(json.dumps(result, default=str), flush=True)


def profiled(fn, *args, top: int = 12, **kwargs):
    """``fn(*args, **kwargs)`` under cProfile; returns (result, top functions by own time)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    res = prof.runcall(fn, *args, **kwargs)
    st = pstats.Stats(prof)
    total = sum(v[2] for v in st.stats.values()) or 1.0
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:top]
    out = [
        {
            "function": f"{Path(f).name}:{line}:{name}" if f != "~" else name,
            "own_seconds": round(v[2], 3),
            "share": round(v[2] / total, 3),
            "calls": v[1],
        }
        for (f, line, name), v in rows
    ]
    return res, out
