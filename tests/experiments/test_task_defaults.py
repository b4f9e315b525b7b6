"""Task-YAML hyperparameters reach the steps: the planner applies them, a config overrides them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from xstilts.cli.main import app
from xstilts.experiments.config import parse_config
from xstilts.experiments.plan import build_plan


def _steps(cfg: dict, shared_data) -> list:
    return list(build_plan(parse_config(cfg), data_dir=str(shared_data)).steps.values())


def test_plan_json_lists_resolved_params_with_the_task_yaml_max_length(tmp_path, shared_data):
    path = tmp_path / "xq.yaml"
    path.write_text("name: xq\ntarget: xquad\nphases: {target: {epochs: 1}}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["plan", str(path), "--json", "--data-dir", str(shared_data)])
    assert res.exit_code == 0, res.output
    steps = {s["kind"]: s for s in json.loads(res.output)["steps_list"]}
    phase = steps["train"]["params"]["phase"]
    assert phase["max_length"] == 384  # xquad.yaml -> _squad_en.yaml defaults
    assert phase["learning_rate"] == 3.0e-5  # also from the task YAML
    assert phase["epochs"] == 1  # the config's phases win over the task YAML (epochs: 2)
    assert steps["evaluate"]["params"]["max_length"] == 384


def test_config_overrides_task_defaults_and_family_params_stay_out(shared_data):
    (train,) = [
        s
        for s in _steps(
            {
                "target": "xquad",
                "phases": {"target": {"max_length": 256}},
                "task_overrides": {"xquad": {"batch_size": 8}},
            },
            shared_data,
        )
        if s.kind == "train"
    ]
    phase = train.params["phase"]
    assert (phase["max_length"], phase["batch_size"], phase["epochs"]) == (256, 8, 2.0)
    assert "doc_stride" not in phase  # a family parameter, read by the QA family itself
    (plain,) = [s for s in _steps({"target": "xnli"}, shared_data) if s.kind == "train"]
    assert plain.params["phase"]["max_length"] == 128  # no task defaults: the phase's own
