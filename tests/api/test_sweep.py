"""Sweeps: the plan crosses swept values with the grid and shares what does not depend on them."""

from __future__ import annotations

import pytest

from xstilts.errors import ConfigError
from xstilts.experiments.config import parse_config
from xstilts.experiments.plan import build_plan

PATH = "phases.intermediate.max_examples"


def _cfg(**over) -> dict:
    cfg = {
        "name": "sweep",
        "model": "offline",
        "intermediate": ["demo-nli"],
        "baseline": True,
        "targets": ["demo-sentiment"],
        "seeds": [1, 2],
        "phases": {"intermediate": {"max_steps": 2}, "target": {"max_steps": 2}},
        "evaluation": {"languages": ["en", "de"], "max_examples": 8},
    }
    cfg.update(over)
    return cfg


def _trains(plan, role):
    return [s for s in plan.steps.values() if s.kind == "train" and s.params["role"] == role]


def test_intermediate_size_sweep_plans_three_trainings_per_seed_and_shares_the_rest():
    values = [8, 16, 24]
    plan = build_plan(parse_config(_cfg(sweep={PATH: values})))
    inter = _trains(plan, "intermediate")
    assert len(inter) == 3 * 2
    assert sorted((s.params["seed"], s.params["phase"]["max_examples"]) for s in inter) == sorted(
        (seed, v) for seed in (1, 2) for v in values
    )
    # each point's own plan is inside the sweep's, key for key (step keys stay content keys)
    singles = [build_plan(parse_config(_cfg(phases={
        "intermediate": {"max_steps": 2, "max_examples": v}, "target": {"max_steps": 2},
    }))) for v in values]  # fmt: skip
    for single in singles:
        assert set(single.steps) <= set(plan.steps)
    # a step that does not depend on the value is one step used by every point: the baseline
    shared = set.intersection(*(set(s.steps) for s in singles))
    assert shared == set(plan.steps) - {
        k for s in plan.steps.values() for k in [s.key] if _depends(plan, s.key)
    }
    baseline = [s for s in _trains(plan, "target") if not s.deps]
    assert len(baseline) == 2 and all(plan.sweep["steps"][s.key] == [0, 1, 2] for s in baseline)
    for s in inter:
        assert len(plan.sweep["steps"][s.key]) == 1
        assert s.label.endswith(f"[max_examples={s.params['phase']['max_examples']}]")
    assert len(plan.steps) == len(set().union(*(s.steps for s in singles)))


def _depends(plan, key) -> bool:
    return len(plan.sweep["steps"][key]) < len(plan.sweep["points"])


def test_a_target_phase_sweep_trains_each_intermediate_checkpoint_once():
    plan = build_plan(parse_config(_cfg(sweep={"phases.target.learning_rate": [1e-5, 3e-5]})))
    assert len(_trains(plan, "intermediate")) == 2  # one per seed, not one per value
    assert len(_trains(plan, "target")) == 2 * 2 * 2  # (baseline + demo-nli) x seeds x values


@pytest.mark.parametrize(
    ("sweep", "where", "says"),
    [
        ({"phases.intermediate.max_exampels": [1, 2]}, "sweep.phases.intermediate.max_exampels",
         "unknown key"),
        ({PATH: ["many", 2]}, f"sweep.{PATH}", "'many'"),
        ({PATH: []}, f"sweep.{PATH}", "non-empty list"),
        ({PATH: 5}, f"sweep.{PATH}", "valid list"),
        ({"seeds.x": [1]}, "sweep.seeds.x", "list item"),
        ({"name.x": [1]}, "sweep.name.x", "not a section"),
        ({PATH: [4, 4]}, f"sweep.{PATH}", "repeat"),
    ],
)  # fmt: skip
def test_bad_sweep_paths_and_values_are_one_line_errors_naming_the_path(sweep, where, says):
    with pytest.raises(ConfigError) as exc:
        parse_config(_cfg(sweep=sweep))
    msg = str(exc.value)
    assert f"{where}:" in msg and says in msg and "\n" not in msg


def test_configs_without_a_sweep_keep_their_hash():
    cfg = parse_config(_cfg())
    assert "sweep" not in cfg.model_dump(mode="json", exclude={"sweep"})
    assert cfg.digest() == parse_config(_cfg(sweep={})).digest()
