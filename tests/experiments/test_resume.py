"""Kill-and-resume: a stopped step continues where it was and ends exactly as an unstopped one.

In process: a training step interrupted right after a mid-epoch checkpoint, then run again, must
give bit-identical weights, history, best-on-dev choice and evaluation rows (restored optimizer,
scheduler, RNG for dropout, data order, best checkpoint). End to end: ``xstilts run`` in a
subprocess is SIGKILLed mid-training and again after a finished step; the rerun's results store
equals a clean run's (timing fields excepted) and so do the trained weights, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from gridkit import XSTILTS, comparable_rows, env_for, grid_config, shared_cache
from gridkit import write_fixture_tasks as write_tasks

from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor, run_step
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.store import ArtifactStore

pytestmark = pytest.mark.slow


@pytest.fixture()
def grid_env(tmp_path: Path, offline_encoder: Path, monkeypatch: pytest.MonkeyPatch):
    from xstilts.tasks import registry

    tasks = write_tasks(tmp_path / "fx")
    cache = shared_cache(tmp_path, offline_encoder)
    monkeypatch.setenv("XSTILTS_CACHE", str(cache))
    monkeypatch.setenv("XSTILTS_TASKS", str(tasks))
    registry._load.cache_clear()
    yield {"cache": cache, "tasks": tasks, "root": tmp_path}
    registry._load.cache_clear()


class _Stop(Exception):
    """Stands in for a kill: raised from the progress callback after a checkpoint."""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _meta(d: Path) -> dict:
    m = json.loads((d / "meta.json").read_text())
    m.pop("seconds")
    return m


def test_mid_training_resume_is_bit_identical(grid_env):
    """Stopped after step 7 of 10 (checkpoint at 6, best-on-dev from epoch 1): same end state."""
    cfg = parse_config(
        grid_config(
            intermediate=[],
            baseline=True,
            targets=["demo-sentiment"],
            seeds=[3],
            # 16 rows / batch 4 = 4 steps an epoch: epoch ends at 4 and 8, the end at 10;
            # checkpoints every 3 steps; dev selection on (dropout active throughout).
            target_phase={
                "max_steps": 10,
                "checkpoint_every": 3,
                "select_best": True,
                "group_by_length": True,
            },
            evaluation={"languages": ["en", "de"], "max_examples": 24},
        )
    )
    plan = build_plan(cfg)
    train = next(s for s in plan.steps.values() if s.kind == "train")
    ev = next(s for s in plan.steps.values() if s.kind == "evaluate")
    clean, resumed = grid_env["root"] / "clean", grid_env["root"] / "resumed"
    LocalExecutor().run(plan, clean)

    def stopper(desc: str, total: int):
        def update(i: int, n: int | None, loss: float | None) -> None:
            if i == 7:
                raise _Stop

        return update

    with pytest.raises(_Stop):
        run_step(train, resumed, progress=stopper)
    store = ArtifactStore(resumed)
    state = store.work(train.key) / "train_state"
    assert json.loads((state / "state.json").read_text())["step"] == 6
    assert (state / "best.safetensors").exists()  # epoch 1's best travels with the checkpoint
    assert not store.done(train.key)
    LocalExecutor().run(plan, resumed)

    a, b = ArtifactStore(clean).path(train.key), store.path(train.key)
    assert _sha(a / "model.safetensors") == _sha(b / "model.safetensors")
    assert _meta(a) == _meta(b)
    assert _meta(a)["examples_seen"] == 40
    assert len(_meta(a)["history"]) == 3 and _meta(a)["best"] is not None
    rows_a = ResultsStore(clean).rows()
    assert rows_a and ev.key in {r["step"] for r in rows_a}
    assert comparable_rows(rows_a) == comparable_rows(ResultsStore(resumed).rows())


def test_restarts_when_the_checkpoint_swap_was_cut(grid_env):
    """Killed between moving the old checkpoint aside and renaming the new one into place."""
    from xstilts.training.trainer import _recover_state

    d = grid_env["root"] / "w"
    state, tmp, old = d / "train_state", d / "train_state.tmp", d / "train_state.old"
    tmp.mkdir(parents=True)
    (tmp / "state.json").write_text(json.dumps({"step": 4}))
    old.mkdir()
    (old / "state.json").write_text(json.dumps({"step": 2}))
    _recover_state(state)
    assert json.loads((state / "state.json").read_text())["step"] == 4
    assert not tmp.exists() and not old.exists()
    # an incomplete temp dir (no state.json) is not trusted: the previous checkpoint comes back
    tmp.mkdir()
    (tmp / "model.safetensors").write_text("partial")
    os.replace(state, old)
    _recover_state(state)
    assert json.loads((state / "state.json").read_text())["step"] == 4
    assert not tmp.exists()


def _run_cli(cfg_path: Path, out: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [XSTILTS, "run", str(cfg_path), "--out", str(out), "--no-report"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finished(steps: Path) -> set[str]:
    """Keys of finished steps (``done.json`` in a work dir is not finished: not yet renamed)."""
    return {p.parent.name for p in steps.glob("*/done.json") if not p.parent.name.endswith(".work")}


def _kill_when(proc: subprocess.Popen, cond, timeout: float = 240.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f"finished before the kill point:\n{proc.stdout.read()}"
        assert time.monotonic() - t0 < timeout, "kill point never reached"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkill_and_rerun_equals_clean_run(grid_env, tmp_path: Path):
    """SIGKILL mid-training, then after a finished step; the third run completes the store."""
    spec = grid_config(
        intermediate=["demo-nli"],
        baseline=True,
        targets=["fx-topic"],
        seeds=[1],
        # 24 steps with a checkpoint every 2: the kill lands well inside the training loop
        inter_phase={"max_steps": 24, "checkpoint_every": 2, "max_examples": 64},
        target_phase={"max_steps": 4, "checkpoint_every": 2},
    )
    cfg_path = tmp_path / "grid.yaml"
    cfg_path.write_text(yaml.safe_dump(spec))
    env = env_for(grid_env["cache"], grid_env["tasks"])
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    LocalExecutor().run(build_plan(parse_config(spec)), clean)  # uninterrupted, in process
    steps = killed / "steps"

    # 1. killed while the intermediate step trains (its first checkpoint has appeared)
    proc = _run_cli(cfg_path, killed, env)
    _kill_when(proc, lambda: any(steps.glob("*.work/train_state/state.json")))
    assert not _finished(steps), "nothing was finished at the first kill"
    # 2. killed right after a step has finished (the resumed intermediate step)
    proc = _run_cli(cfg_path, killed, env)
    _kill_when(proc, lambda: bool(_finished(steps)))
    done_before = _finished(steps)
    # 3. runs to the end, reusing what was finished
    proc = _run_cli(cfg_path, killed, env)
    log = proc.communicate()[0]
    assert proc.returncode == 0, log
    assert f"{len(done_before)} reused from cache" in " ".join(log.split()), log

    rows_k, rows_c = ResultsStore(killed).rows(), ResultsStore(clean).rows()
    assert len(rows_c) == 2 * 2  # 2 set-ups x (en, de) x accuracy (stored averages not read)
    assert comparable_rows(rows_k) == comparable_rows(rows_c)
    keys = _finished(clean / "steps")
    assert len(keys) == 5 and keys == _finished(steps)
    assert not list(steps.glob("*.work"))
    for key in keys:
        if key.startswith("train-"):
            a, b = clean / "steps" / key, steps / key
            assert _sha(a / "model.safetensors") == _sha(b / "model.safetensors"), key
            assert _meta(a) == _meta(b), key
