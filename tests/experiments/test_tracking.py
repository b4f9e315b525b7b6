"""Tracking: step params, result rows and the training loss history reach MLflow / W&B.

MLflow is the real package (``mlflow-skinny``) with a file store in a tmp dir, driven through
``xstilts run --track mlflow`` on the real encoder; W&B is a fake module injected into
``sys.modules`` that records the calls (the real client needs an account or a local server).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import yaml
from gridkit import grid_config, shared_cache, write_fixture_tasks

from xstilts.experiments.results import ResultRow, ResultsStore
from xstilts.experiments.steps import Step
from xstilts.experiments.store import ArtifactStore
from xstilts.experiments.tracking import flatten, make_tracker, step_record


def _fake_store(out: Path) -> tuple[Step, Step]:
    """A finished train step (meta.json with history) and an evaluate step with two rows."""
    train = Step("train", {"phase": {"learning_rate": 1e-4}, "seed": 3, "tasks": ["t"]})
    ev = Step("evaluate", {"task": "t", "labels": {"run_id": "x"}}, deps={"checkpoint": train.key})
    store = ArtifactStore(out)
    w = store.work(train.key)
    history = [{"step": 4, "loss": 0.9, "dev_main": 0.5}, {"step": 8, "loss": 0.4}]
    (w / "meta.json").write_text(json.dumps({"history": history, "examples_seen": 32}))
    store.finish(train.key, {"seconds": 1.5})
    store.work(ev.key)
    rows = [
        ResultRow("x", "h", "m", "none", "t", 3, "t", lang, "test", "none", "accuracy", v, ev.key)
        for lang, v in (("de", 0.75), ("avg", 0.5))
    ]
    ResultsStore(out).write(ev.key, rows)
    store.finish(ev.key, {"seconds": 0.5})
    return train, ev


def test_step_record_has_params_rows_and_history(tmp_path: Path):
    train, ev = _fake_store(tmp_path)
    rec = step_record(train, tmp_path)
    assert rec["params"]["phase.learning_rate"] == "0.0001" and rec["params"]["seed"] == "3"
    assert rec["history"] == [(4, {"loss": 0.9, "dev_main": 0.5}), (8, {"loss": 0.4})]
    assert rec["metrics"]["train/examples_seen"] == 32.0
    rec = step_record(ev, tmp_path)
    assert rec["metrics"]["t/de/accuracy"] == 0.75 and rec["metrics"]["t/avg/accuracy"] == 0.5
    assert rec["params"]["dep.checkpoint"] == train.key
    assert flatten({"a": {"b": [1, 2]}, "c": "x" * 900})["a.b"] == "[1, 2]"
    assert len(flatten({"c": "x" * 900})["c"]) == 500


def test_wandb_fake_module_records_one_run_per_step(tmp_path: Path, monkeypatch):
    calls: list[tuple] = []

    class Run:
        def __init__(self, **kw):
            calls.append(("init", kw))
            self.summary = types.SimpleNamespace(update=lambda d: calls.append(("summary", d)))

        def log(self, d, step=None):
            calls.append(("log", d, step))

        def finish(self):
            calls.append(("finish",))

    fake = types.ModuleType("wandb")
    fake.init = lambda **kw: Run(**kw)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    train, ev = _fake_store(tmp_path)
    tracker = make_tracker("wandb")
    tracker.start("exp", {"config_hash": "h"})
    tracker.log_step(train, tmp_path)
    tracker.log_step(ev, tmp_path)
    tracker.finish()
    inits = [c[1] for c in calls if c[0] == "init"]
    assert [i["group"] for i in inits] == ["exp", "exp"]
    assert inits[0]["config"]["phase.learning_rate"] == "0.0001"
    assert inits[0]["config"]["run.config_hash"] == "h"
    assert ("log", {"train/loss": 0.9, "train/dev_main": 0.5}, 4) in calls
    assert ("log", {"train/loss": 0.4}, 8) in calls
    summaries = [c[1] for c in calls if c[0] == "summary"]
    assert summaries[1]["t/de/accuracy"] == 0.75
    assert sum(c[0] == "finish" for c in calls) == 2


def test_unknown_tracker_is_an_error():
    from xstilts.errors import XstiltsError

    with pytest.raises(XstiltsError, match="unknown tracker 'tensorboard'"):
        make_tracker("tensorboard")


@pytest.mark.full
def test_run_track_mlflow_logs_steps(tmp_path: Path, offline_encoder: Path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="needs pip install mlflow (or mlflow-skinny)")
    from xstilts.cli.main import main
    from xstilts.tasks import registry

    monkeypatch.setenv("XSTILTS_CACHE", str(shared_cache(tmp_path, offline_encoder)))
    monkeypatch.setenv("XSTILTS_TASKS", str(write_fixture_tasks(tmp_path / "fx")))
    registry._load.cache_clear()
    uri = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 wants a database otherwise
    spec = grid_config(
        intermediate=[],
        baseline=True,
        targets=["fx-topic"],
        seeds=[1],
        target_phase={"max_steps": 3, "batch_size": 4, "eval_every": "epoch"},
        name="tracked",
    )
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(yaml.safe_dump(spec))
    argv = ["xstilts", "run", str(cfg), "--out", str(tmp_path / "out"), "--no-report"]
    monkeypatch.setattr(sys, "argv", [*argv, "--track", "mlflow"])
    try:
        main()
    except SystemExit as exc:
        assert not exc.code
    registry._load.cache_clear()

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tracked")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == {
        "tracked",
        "target fx-topic after none seed 1",
        "evaluate fx-topic after none seed 1",
    }
    parent = runs["tracked"].info.run_id
    train = runs["target fx-topic after none seed 1"]
    ev = runs["evaluate fx-topic after none seed 1"]
    assert train.data.tags["mlflow.parentRunId"] == parent == ev.data.tags["mlflow.parentRunId"]
    assert train.data.params["phase.max_steps"] == "3" and train.data.params["seed"] == "1"
    loss = client.get_metric_history(train.info.run_id, "train/loss")
    assert [m.step for m in loss] == [3]
    rows = ResultsStore(tmp_path / "out").rows()
    for r in rows:
        assert ev.data.metrics[f"fx-topic/{r['language']}/{r['metric']}"] == pytest.approx(
            r["value"]
        )
    assert runs["tracked"].info.status == "FINISHED"
