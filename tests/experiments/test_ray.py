"""The Ray executor: same results as ``local``, independent steps really in parallel.

Without Ray installed, ``--executor ray`` is a one-line error saying how to install it (tested by
hiding the module). With Ray (``pip install 'xstilts[ray]'``): a local instance with 2 CPUs runs
two single-threaded evaluations of two checkpoints side by side; their wall time is compared with
one evaluation's on the same warm workers, and their execution intervals must overlap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import pytest
import yaml
from gridkit import comparable_rows, grid_config, shared_cache, write_fixture_tasks

from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import EXECUTORS, LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.store import ArtifactStore


@pytest.fixture()
def grid_env(tmp_path: Path, offline_encoder: Path, monkeypatch: pytest.MonkeyPatch):
    from xstilts.tasks import registry

    tasks = write_fixture_tasks(tmp_path / "fx")
    cache = shared_cache(tmp_path, offline_encoder)
    monkeypatch.setenv("XSTILTS_CACHE", str(cache))
    monkeypatch.setenv("XSTILTS_TASKS", str(tasks))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    registry._load.cache_clear()
    yield {"root": tmp_path}
    registry._load.cache_clear()


def _cli(argv: list[str], monkeypatch, capsys) -> tuple[int, str]:
    from xstilts.cli.main import main

    monkeypatch.setattr(sys, "argv", ["xstilts", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code), capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("module", "flags", "hint"),
    [
        ("ray", ["--executor", "ray"], "pip install 'xstilts[ray]'"),
        ("wandb", ["--track", "wandb"], "pip install wandb"),
        ("mlflow", ["--track", "mlflow"], "pip install mlflow"),
    ],
)
def test_missing_optional_package_is_one_line(grid_env, monkeypatch, capsys, module, flags, hint):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    cfg = grid_env["root"] / "grid.yaml"
    cfg.write_text(
        yaml.safe_dump(grid_config(intermediate=[], baseline=True, targets=["fx-topic"], seeds=[1]))
    )
    out = grid_env["root"] / "out"
    code, err = _cli(["run", str(cfg), "--out", str(out), *flags], monkeypatch, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and hint in err, err
    assert not (out / "steps").exists()  # refused before anything ran


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_ray_matches_local_and_runs_independent_steps_in_parallel(grid_env):
    ray = pytest.importorskip(
        "ray", reason="the Ray executor test needs pip install 'xstilts[ray]'"
    )
    import torch

    cfg = parse_config(
        grid_config(
            intermediate=[],
            baseline=True,
            targets=["demo-sentiment"],
            seeds=[1, 2],  # two independent pipelines: train -> evaluate, twice
            target_phase={"max_length": 64},
            # CPU-bound evaluations: 9 languages x 100 sentences each
            evaluation={"languages": None, "max_examples": None},
        )
    )
    plan = build_plan(cfg)
    evals = [s for s in plan.steps.values() if s.kind == "evaluate"]
    trains = [s for s in plan.steps.values() if s.kind == "train"]
    assert len(evals) == 2 and len(trains) == 2
    local, on_ray = grid_env["root"] / "local", grid_env["root"] / "ray"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a Ray task with num_cpus=1: identical kernels, identical bits
    try:
        LocalExecutor().run(plan, local)
    finally:
        torch.set_num_threads(threads)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=2**28)
    try:
        ex = EXECUTORS.get("ray").obj({})
        summary = ex.run(plan, on_ray)
        assert sorted(summary.ran) == sorted(plan.steps)
        assert comparable_rows(ResultsStore(on_ray).rows()) == comparable_rows(
            ResultsStore(local).rows()
        )
        for s in trains:
            a = ArtifactStore(local).path(s.key) / "model.safetensors"
            assert _sha(a) == _sha(ArtifactStore(on_ray).path(s.key) / "model.safetensors")
        t = ex.timings
        assert t[trains[0].key]["pid"] != t[trains[1].key]["pid"]  # two workers at once

        def forget(keys: list[str]) -> None:
            for key in keys:
                shutil.rmtree(ArtifactStore(on_ray).path(key))
                os.remove(ResultsStore(on_ray).dir / f"{key}.json")

        # Wall time of one evaluation vs two side by side, on the same warm workers. Other
        # load on the machine inflates both; a second measurement is taken if the first is
        # over the bar, and the better one counts.
        measured: list[tuple[float, float]] = []
        for _ in range(2):
            forget([evals[0].key])
            t0 = time.perf_counter()
            one = ex.run(plan, on_ray)
            wall_one = time.perf_counter() - t0
            assert one.ran == [evals[0].key]
            forget([e.key for e in evals])
            t0 = time.perf_counter()
            two = ex.run(plan, on_ray)
            wall_two = time.perf_counter() - t0
            assert sorted(two.ran) == sorted(e.key for e in evals)
            measured.append((wall_one, wall_two))
            if wall_two < 1.5 * wall_one:
                break
    finally:
        ray.shutdown()
    a, b = (ex.timings[e.key] for e in evals)
    overlap = min(a["end"], b["end"]) - max(a["start"], b["start"])
    for wall_one, wall_two in measured:
        print(
            f"\nray: one evaluation {wall_one:.2f}s, two independent evaluations {wall_two:.2f}s "
            f"(ratio {wall_two / wall_one:.2f}; sequential would be ~2.0)"
        )
    print(f"overlap of the last two: {overlap:.2f}s")
    cpu_share = (a["cpu"] + b["cpu"]) / (max(a["end"], b["end"]) - min(a["start"], b["start"]))
    load = os.getloadavg()[0]
    print(f"CPU seconds per wall second of the two: {cpu_share:.2f}; load average {load:.1f}")
    assert overlap > 0.5 * min(a["end"] - a["start"], b["end"] - b["start"])
    ratio = min(two / one for one, two in measured)
    if load <= (os.cpu_count() or 2) + 1:
        assert ratio < 1.5
    else:  # other jobs own the cores: a wall-time speed-up cannot show; say so, do not hide it
        warnings.warn(
            f"machine busy (load {load:.1f}): two-step/one-step wall ratio {ratio:.2f} not checked",
            stacklevel=1,
        )
    assert comparable_rows(ResultsStore(on_ray).rows()) == comparable_rows(
        ResultsStore(local).rows()
    )


def test_task_options_from_step_resources():
    pytest.importorskip("ray", reason="needs pip install 'xstilts[ray]'")
    from xstilts.experiments.steps import Step

    ex = EXECUTORS.get("ray").obj({"resources": {"evaluate": {"num_gpus": 0}}})
    train = Step("train", {"x": 1}, resources={"num_cpus": 2, "memory": 4e9, "bigmem": 1})
    opts = ex.options(train)
    assert (opts["num_cpus"], opts["memory"], opts["resources"]) == (
        2,
        4_000_000_000,
        {"bigmem": 1.0},
    )
    assert "num_gpus" not in opts  # no GPU in the cluster: none asked
    ex.cluster_gpus = 2.0
    assert ex.options(train)["num_gpus"] == 1  # GPUs are hidden from tasks that ask for none
    assert ex.options(Step("evaluate", {"x": 2}))["num_gpus"] == 0  # per-kind override wins
