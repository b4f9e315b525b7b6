"""Grid plans and the content-addressed cache.

Keys: a step's key changes with everything its output depends on (model fingerprint, data and task
definitions, its own hyperparameters, seed, the keys it consumes) and with nothing else (run name,
evaluation settings for a training step, the checkpoint interval, growing the grid). Cache: on the
real offline encoder, a 3 intermediate x 3 target x 2 seed grid trains each intermediate checkpoint
once per seed (6, not 18), and a rerun computes nothing.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml
from gridkit import comparable_rows, grid_config, shared_cache, write_fixture_tasks

from xstilts.experiments import executors
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import Plan, build_plan
from xstilts.experiments.results import ResultsStore

INTER = ["demo-nli", "fx-pair", "fx-verb"]
TARGETS = ["demo-sentiment", "fx-topic", "fx-pair"]


@pytest.fixture()
def grid_env(tmp_path: Path, offline_encoder: Path, monkeypatch: pytest.MonkeyPatch):
    from xstilts.tasks import registry

    tasks = write_fixture_tasks(tmp_path / "fx")
    cache = shared_cache(tmp_path, offline_encoder)
    monkeypatch.setenv("XSTILTS_CACHE", str(cache))
    monkeypatch.setenv("XSTILTS_TASKS", str(tasks))
    registry._load.cache_clear()
    yield {"tasks": tasks, "data": tmp_path / "fx" / "data", "root": tmp_path, "cache": cache}
    registry._load.cache_clear()


def _plan(spec: dict) -> Plan:
    return build_plan(parse_config(copy.deepcopy(spec)))


def _keys(plan: Plan) -> dict[str, set[str]]:
    """Keys by role: intermediate / target train steps and evaluations."""
    out: dict[str, set[str]] = {"intermediate": set(), "target": set(), "evaluate": set()}
    for s in plan.steps.values():
        out[s.params["role"] if s.kind == "train" else s.kind].add(s.key)
    return out


def _base() -> dict:
    return grid_config(intermediate=INTER, targets=TARGETS, seeds=[1, 2])


def _with(spec: dict, path: str, value) -> dict:
    spec = copy.deepcopy(spec)
    *head, last = path.split(".")
    d = spec
    for k in head:
        d = d.setdefault(k, {})
    d[last] = value
    return spec


def test_grid_plan_size_and_sharing(grid_env):
    plan = _plan(_base())
    k = _keys(plan)
    assert (len(k["intermediate"]), len(k["target"]), len(k["evaluate"])) == (6, 18, 18)
    summ = plan.summary()
    assert summ["by_kind"] == {"train": 24, "evaluate": 18}
    assert summ["without_sharing"] == 54  # each of 18 pipelines with its own intermediate step
    assert summ["shared"] == {"train": 6}
    # every target after the same set-up and seed starts from the same checkpoint
    for key in k["intermediate"]:
        users = [s for s in plan.steps.values() if s.deps.get("init") == key]
        assert len(users) == 3 and len({s.params["tasks"][0] for s in users}) == 3
    # the order is topological: a step comes after what it consumes
    seen: set[str] = set()
    for s in plan.steps.values():
        assert set(s.deps.values()) <= seen
        seen.add(s.key)


def test_keys_ignore_what_does_not_change_outputs(grid_env):
    base = _keys(_plan(_base()))
    # evaluation-only settings: training keys stay, evaluation keys change
    ev = _keys(_plan(_with(_base(), "evaluation.max_examples", 4)))
    assert ev["intermediate"] == base["intermediate"] and ev["target"] == base["target"]
    assert ev["evaluate"].isdisjoint(base["evaluate"])
    # the run name (a result label), the checkpoint interval, feature caching: nothing changes
    for path, value in (
        ("name", "renamed"),
        ("phases.intermediate.checkpoint_every", 1),
        ("phases.target.checkpoint_every", 3),
        ("cache_features", False),
    ):
        assert _keys(_plan(_with(_base(), path, value))) == base, path
    # growing the grid by a seed (new config hash) keeps every existing step
    grown = _keys(_plan(_with(_base(), "seeds", [1, 2, 3])))
    for role in base:
        assert base[role] < grown[role]


def test_keys_follow_what_steps_depend_on(grid_env):
    base = _keys(_plan(_base()))
    # target hyperparameters: target train and evaluation keys change, intermediate keys do not
    lr = _keys(_plan(_with(_base(), "phases.target.learning_rate", 1e-4)))
    assert lr["intermediate"] == base["intermediate"]
    assert lr["target"].isdisjoint(base["target"])
    assert lr["evaluate"].isdisjoint(base["evaluate"])
    # intermediate hyperparameters change everything downstream through the dependency keys
    ilr = _keys(_plan(_with(_base(), "phases.intermediate.learning_rate", 1e-4)))
    assert all(ilr[r].isdisjoint(base[r]) for r in base)
    # the seed is part of every training key
    one = _keys(_plan(_with(_base(), "seeds", [7])))
    assert one["intermediate"].isdisjoint(base["intermediate"])
    # a task-specific override touches only that task's steps
    ov = _keys(_plan(_with(_base(), "task_overrides", {"fx-topic": {"learning_rate": 1e-3}})))
    assert ov["intermediate"] == base["intermediate"]
    assert len(base["target"] - ov["target"]) == 6  # fx-topic after 3 set-ups x 2 seeds


def test_keys_follow_data_task_and_model_fingerprints(grid_env, tmp_path: Path):
    from xstilts.tasks import registry

    spec = _base()
    base = _plan(spec)
    by_label = {s.label: s.key for s in base.steps.values()}

    def changed(plan: Plan) -> set[str]:
        return {s.label for s in plan.steps.values() if by_label.get(s.label) != s.key}

    # training data of one intermediate task: its steps and everything downstream
    f = grid_env["data"] / "pair-train.tsv"
    f.write_text(f.read_text() + "One more line.\tAnother one.\tdifferent\n")
    diff = changed(_plan(spec))
    assert "intermediate fx-pair seed 1" in diff and "intermediate demo-nli seed 1" not in diff
    assert "evaluate fx-topic after fx-pair seed 2" in diff
    assert "target fx-topic after demo-nli seed 1" not in diff
    base, by_label = _plan(spec), {s.label: s.key for s in _plan(spec).steps.values()}

    # dev data counts only where a step selects its best epoch on it
    dev = grid_env["data"] / "topic-dev-en.tsv"
    dev.write_text(dev.read_text() + "The cat sells a book.\tanimal\n")
    assert not changed(_plan(spec))  # select_best is off in the tiny grid
    sel = _with(spec, "phases.target.select_best", True)
    sel_keys = {s.label: s.key for s in _plan(sel).steps.values()}
    dev.write_text(dev.read_text() + "A child buys a boat.\tperson\n")
    after = {s.label: s.key for s in _plan(sel).steps.values()}
    moved = {lab for lab in after if after[lab] != sel_keys[lab]}
    assert "target fx-topic after fx-verb seed 1" in moved
    assert not any(lab.startswith("intermediate") for lab in moved)

    # the test data of one language: only that target's evaluations
    test_de = grid_env["data"] / "topic-test-de.tsv"
    test_de.write_text(test_de.read_text() + "Der doctor cooks soup.\tperson\n")
    diff = changed(_plan(spec))
    assert diff and all(lab.startswith("evaluate fx-topic") for lab in diff)
    base, by_label = _plan(spec), {s.label: s.key for s in _plan(spec).steps.values()}

    # a task definition's version
    yml = grid_env["tasks"] / "fx-verb.yaml"
    task = yaml.safe_load(yml.read_text())
    yml.write_text(yaml.safe_dump({**task, "version": 2}))
    registry._load.cache_clear()
    diff = changed(_plan(spec))
    assert "intermediate fx-verb seed 2" in diff and "intermediate fx-pair seed 2" not in diff

    # the model: another directory, and the same directory with a changed file
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (model / "model.safetensors").write_bytes(b"0" * 16)
    other = _plan(_with(spec, "model", str(model)))
    assert set(other.steps).isdisjoint(_plan(spec).steps)
    st = (model / "model.safetensors").stat()
    os.utime(model / "model.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert set(_plan(_with(spec, "model", str(model))).steps).isdisjoint(other.steps)


def test_plan_cli_prints_counts_and_json(grid_env, tmp_path: Path):
    from typer.testing import CliRunner

    from xstilts.cli.main import app

    cfg = tmp_path / "grid.yaml"
    cfg.write_text(yaml.safe_dump(_base()))
    res = CliRunner().invoke(app, ["plan", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["steps"] == 42 and data["by_kind"] == {"train": 24, "evaluate": 18}
    assert data["without_sharing"] == 54
    inter = [s for s in data["steps_list"] if s["label"].startswith("intermediate")]
    assert len(inter) == 6 and all(s["pipelines"] == 3 and s["consumers"] == 3 for s in inter)
    res = CliRunner().invoke(app, ["plan", str(cfg), "--out", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "42 steps (18 evaluate, 24 train); 54 without sharing" in text
    assert "run once: 6 train" in text and "0 of 42 steps already done" in text
    assert text.count("(x3)") == 6


@pytest.mark.slow
def test_grid_trains_each_intermediate_once_and_reruns_nothing(grid_env, monkeypatch):
    """3 intermediate x 3 target x 2 seed on the real encoder: 6 intermediate trainings."""
    calls: list[tuple[str, str]] = []
    real = executors.get_runner

    def counting(kind: str):
        fn = real(kind)

        def run(step, ctx):
            calls.append((kind, step.params.get("role", kind)))
            return fn(step, ctx)

        return run

    monkeypatch.setattr(executors, "get_runner", counting)
    tiny = {"max_steps": 1, "batch_size": 2, "max_examples": 4}
    spec = grid_config(
        intermediate=INTER,
        targets=TARGETS,
        seeds=[1, 2],
        inter_phase=tiny,
        target_phase=tiny,
        evaluation={"languages": ["en"], "max_examples": 4},
    )
    plan = _plan(spec)
    out = grid_env["root"] / "out"
    first = LocalExecutor().run(plan, out)
    roles = [r for _, r in calls]
    assert roles.count("intermediate") == 6  # not 18: one per set-up and seed
    assert roles.count("target") == 18 and roles.count("evaluate") == 18
    assert len(first.ran) == 42 and not first.cached
    # frozen embeddings: checkpoints keep the 384 MB table as a digest, not a copy
    sizes = [(p / "model.safetensors").stat().st_size for p in (out / "steps").glob("train-*")]
    assert len(sizes) == 24 and max(sizes) < 120e6
    rows = ResultsStore(out).rows()
    assert {(r["intermediate"], r["target"], r["seed"]) for r in rows} == {
        (i, t, s) for i in INTER for t in TARGETS for s in (1, 2)
    }

    calls.clear()
    again = LocalExecutor().run(_plan(spec), out)
    assert calls == [] and again.ran == [] and len(again.cached) == 42
    assert ResultsStore(out).rows() == rows

    # a renamed run reuses every step; its rows take the new name (labels are not in keys)
    renamed = LocalExecutor().run(_plan(_with(spec, "name", "renamed")), out)
    assert calls == [] and len(renamed.cached) == 42
    assert {r["run_id"] for r in ResultsStore(out).rows()} == {"renamed"}


def test_reuse_adopts_trainings_from_another_output_dir(grid_env, monkeypatch):
    """A second study sharing a set-up trains nothing twice; its results equal a fresh run."""
    from xstilts.experiments.executors import adopt_trained

    calls: list[str] = []
    real = executors.get_runner

    def counting(kind: str):
        fn = real(kind)

        def run(step, ctx):
            calls.append(step.params.get("role", kind))
            return fn(step, ctx)

        return run

    monkeypatch.setattr(executors, "get_runner", counting)
    tiny = {"max_steps": 1, "batch_size": 2, "max_examples": 4}
    ev = {"languages": ["en"], "max_examples": 4}
    first = grid_config(
        intermediate=["fx-pair"], targets=["fx-topic"], seeds=[1], baseline=True,
        inter_phase=tiny, target_phase=tiny, evaluation=ev,
    )  # fmt: skip
    a = grid_env["root"] / "a"
    LocalExecutor().run(_plan(first), a)
    # the second study evaluates more languages and adds an intermediate task
    second = _with(_with(first, "intermediate", ["fx-pair", "fx-verb"]), "name", "second")
    second = _with(second, "evaluation.languages", ["en", "de"])
    b, fresh = grid_env["root"] / "b", grid_env["root"] / "fresh"
    plan = _plan(second)
    adopted = adopt_trained(plan, b, [a])
    assert len(adopted) == 3  # fx-pair intermediate, its target, the baseline target
    calls.clear()
    LocalExecutor().run(plan, b)
    assert calls.count("intermediate") == 1 and calls.count("target") == 1  # only fx-verb's
    LocalExecutor().run(_plan(second), fresh)
    assert comparable_rows(ResultsStore(b).rows()) == comparable_rows(ResultsStore(fresh).rows())
    for key in adopted:  # hard links: no second copy of the weights on disk
        w = b / "steps" / key / "model.safetensors"
        assert os.stat(w).st_ino == os.stat(a / "steps" / key / "model.safetensors").st_ino
