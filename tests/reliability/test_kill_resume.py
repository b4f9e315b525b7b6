"""SIGKILL at step-level kill points of a real run, then the same command again: equal results.

One ``xstilts run`` (real offline encoder, shipped demo tasks: intermediate ``demo-nli`` ->
target ``demo-sentiment`` -> zero-shot evaluation in 3 languages -> greedy attack in 2) is killed
four times in a row, each time inside a different step: during intermediate training (after a
mid-training checkpoint), during target training (best-on-dev selection on), during evaluation
(one language's predictions written, the others not) and during the attack (one language
attacked). Every rerun picks up where the last one stopped; the fifth run completes. Its result
rows, trained weights, predictions and attack records equal an uninterrupted run's, byte for byte
(CPU; timing fields excepted). Kill moments get a small seeded random delay after their trigger.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from xstilts.experiments.config import parse_config
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.store import ArtifactStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
XSTILTS = str(ROOT / ".venv" / "bin" / "xstilts")

PHASE = {
    "learning_rate": 5e-4,
    "max_steps": 4,
    "batch_size": 4,
    "max_length": 32,
    "freeze_embeddings": True,
    "max_examples": 16,
    "warmup": 0.0,
    "checkpoint_every": 2,
}
CONFIG = {
    "name": "kill-resume",
    "model": "offline",
    "intermediate": ["demo-nli"],
    "baseline": False,
    "targets": ["demo-sentiment"],
    "seeds": [1],
    "phases": {
        "intermediate": {**PHASE, "select_best": False},
        "target": {**PHASE, "select_best": True},
    },
    "evaluation": {"languages": ["en", "de", "zh"], "max_examples": 24},
    "attacks": [
        {
            "name": "greedy",
            "params": {"query_budget": 12},
            "max_examples": 3,
            "languages": ["de", "zh"],
        }
    ],
}


def _env(cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XSTILTS_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def _start(cfg: Path, out: Path, cache: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [XSTILTS, "run", str(cfg), "--out", str(out), "--no-report"],
        env=_env(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_when(proc: subprocess.Popen, cond, delay: float, timeout: float = 400.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before the kill point:\n{proc.stdout.read()}")
        assert time.monotonic() - t0 < timeout, "kill point never reached"
        time.sleep(0.005)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def _attack_records(d: Path) -> dict[str, object]:
    out = {}
    for p in sorted((d / "attacks").glob("*.json")):
        blob = json.loads(p.read_text())
        out[p.name] = _drop_timing(blob)
    return out


def _drop_timing(x):
    if isinstance(x, dict):
        return {k: _drop_timing(v) for k, v in x.items() if "second" not in k and "time" not in k}
    if isinstance(x, list):
        return [_drop_timing(v) for v in x]
    return x


def _comparable(out: Path) -> list[dict]:
    rows = []
    for r in ResultsStore(out).rows():
        r = dict(r)
        r["extra"] = _drop_timing(r.get("extra") or {})
        rows.append(r)
    return rows


def test_sigkill_in_every_step_kind_then_rerun_equals_clean_run(
    tmp_path, rel_cache, offline_encoder
):
    cfg = tmp_path / "kill.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    with pytest.MonkeyPatch.context() as m:
        m.setenv("XSTILTS_CACHE", str(rel_cache))
        plan = build_plan(parse_config(CONFIG))
    by_kind = {}
    for s in plan.steps.values():
        role = s.params.get("role", s.kind) if s.kind == "train" else s.kind
        by_kind[role] = s.key
    assert set(by_kind) == {"intermediate", "target", "evaluate", "attack"}, by_kind

    killed, clean = tmp_path / "killed", tmp_path / "clean"
    store = ArtifactStore(killed)

    def work(kind: str) -> Path:
        return killed / "steps" / f"{by_kind[kind]}.work"

    rng = random.Random(20240607)
    kill_points = [
        # (step killed, trigger: evidence the step is under way and has made progress)
        ("intermediate", lambda: (work("intermediate") / "train_state" / "state.json").exists()),
        ("target", lambda: (work("target") / "train_state" / "state.json").exists()),
        ("evaluate", lambda: any((work("evaluate") / "predictions").glob("*.jsonl"))),
        ("attack", lambda: any((work("attack") / "attacks").glob("*.json"))),
    ]
    for kind, trigger in kill_points:
        proc = _start(cfg, killed, rel_cache)
        _kill_when(proc, trigger, delay=rng.uniform(0.0, 0.02))
        assert not store.done(by_kind[kind]), f"{kind} finished before the kill"
        for earlier, _ in kill_points[: [k for k, _ in kill_points].index(kind)]:
            assert store.done(by_kind[earlier]), f"{earlier} not kept across the kill"
        if kind in ("intermediate", "target"):  # killed mid-training, a checkpoint to resume from
            state = json.loads((work(kind) / "train_state" / "state.json").read_text())
            assert state["step"] == 2

    proc = _start(cfg, killed, rel_cache)
    log = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, log
    assert "1 steps ran, 3 reused from cache" in " ".join(log.split()), log
    proc = _start(cfg, clean, rel_cache)
    log = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, log

    rows_k, rows_c = _comparable(killed), _comparable(clean)
    assert rows_c and rows_k == rows_c
    kinds = {r["perturbation"].split("@")[0] for r in rows_c}
    assert kinds == {"none", "attack:greedy"}, kinds
    assert not list((killed / "steps").glob("*.work")), "a work dir survived its step"
    for kind, key in by_kind.items():
        a, b = clean / "steps" / key, killed / "steps" / key
        if kind in ("intermediate", "target"):
            assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
            ma, mb = (json.loads((d / "meta.json").read_text()) for d in (a, b))
            ma.pop("seconds"), mb.pop("seconds")
            assert ma == mb, kind
        if kind == "evaluate":
            pa = {p.name: p.read_text() for p in (a / "predictions").glob("*.jsonl")}
            pb = {p.name: p.read_text() for p in (b / "predictions").glob("*.jsonl")}
            assert len(pa) == 3 and pa == pb
        if kind == "attack":
            assert _attack_records(a) and _attack_records(a) == _attack_records(b)


# --------------------------------------------------------------------------------------------
# kills inside the writes themselves (tiny model, a chain of five runs of the same command)
# --------------------------------------------------------------------------------------------

_KILL_WRAPPER = r"""
import os, signal, sys
from pathlib import Path
import torch

point, nth = os.environ["KILL_AT"].split(":")
nth, seen = int(nth), [0]

def hit():
    seen[0] += 1
    if seen[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)

real_save, real_replace = torch.save, os.replace

def save(obj, f, *a, **k):
    real_save(obj, f, *a, **k)
    if point == "optim.pt" and Path(f).name == "optim.pt":  # after the optimizer state
        hit()

def replace(src, dst, *a, **k):
    s, d = Path(src), Path(dst)
    if (
        (point == "swap" and s.name == "train_state.tmp" and d.name == "train_state")
        or (point == "state.part" and s.name == "state.json.part")
        or (point == "finish" and s.name.endswith(".work") and d.parent.name == "steps")
        or (point == "results" and d.parent.name == "results")
    ):
        hit()
    return real_replace(src, dst, *a, **k)

torch.save, os.replace = save, replace
from xstilts.cli.main import main
sys.argv = ["xstilts", *sys.argv[1:]]
main()
"""


def test_sigkill_inside_checkpoint_finish_and_results_writes(
    tmp_path, tiny_bert, rel_cache, tiny_clean_run
):
    """SIGKILL before a new checkpoint's state.json is renamed into place (its weights and
    optimizer state written), between the two renames of a checkpoint swap, between a finished
    step's done.json and its rename, and before a results file is renamed: each rerun recovers,
    and the last one ends with the results and weights of a run never killed."""
    import sys

    from relkit import comparable, tiny_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny_config(tiny_bert)))
    out = tmp_path / "out"
    chain = ["state.part:1", "swap:2", "finish:1", "results:1"]
    for kill_at in chain:
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                _KILL_WRAPPER,
                "run",
                str(cfg),
                "--out",
                str(out),
                "--no-report",
            ],
            env={**_env(rel_cache), "KILL_AT": kill_at},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == -signal.SIGKILL, (kill_at, res.returncode, res.stderr[-2000:])
    res = subprocess.run(
        [XSTILTS, "run", str(cfg), "--out", str(out), "--no-report"],
        env=_env(rel_cache),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert comparable(out) == comparable(tiny_clean_run)
    for key in (p.name for p in (tiny_clean_run / "steps").iterdir()):
        a, b = tiny_clean_run / "steps" / key, out / "steps" / key
        if (a / "model.safetensors").exists():
            assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    # a kill leaves at most hidden temp dirs behind, which no reader picks up
    assert {p.name for p in (out / "results").glob("*.json")} == {
        p.name for p in (tiny_clean_run / "results").glob("*.json")
    }
