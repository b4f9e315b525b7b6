"""The full-scale study configs implement their questions and take their recipe from one file.

Each full config ``include:``s the phases and task overrides of configs/phang2020.yaml (Q1, Q2,
Q3, Q5) or configs/domain_adaptation.yaml (Q4); these tests plan them (no download: hub models
are resolved by name) and compare every planned training phase with the shared recipe's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.errors import ConfigError
from xstilts.experiments.config import load_config
from xstilts.experiments.plan import build_plan
from xstilts.tasks.registry import all_groups

ROOT = Path(__file__).resolve().parents[2]
PHANG = ROOT / "configs" / "phang2020.yaml"
DOMAIN = ROOT / "configs" / "domain_adaptation.yaml"
RECIPE = {
    "robustness_after_stilts.yaml": PHANG,
    "xtremer_noise_gap.yaml": PHANG,
    "reasoning_sentiment_robustness.yaml": PHANG,
    "alignment_stability.yaml": PHANG,
    "domain_transfer.yaml": DOMAIN,
}


@pytest.fixture(scope="module")
def plans(shared_data):
    out = {}
    for name in RECIPE:
        cfg = load_config(ROOT / "studies" / name)
        out[name] = (cfg, build_plan(cfg, data_dir=str(shared_data)))
    return out


@pytest.mark.parametrize("name", sorted(RECIPE))
def test_every_planned_phase_is_the_shared_recipe(name, plans):
    cfg, plan = plans[name]
    recipe = load_config(RECIPE[name])
    assert cfg.phases == recipe.phases
    trains = [s for s in plan.steps.values() if s.kind == "train"]
    assert trains
    for s in trains:
        tasks = s.params["tasks"]
        want = recipe.phase(s.params["role"], tasks[0] if len(tasks) == 1 else None)
        assert s.params["phase"] == want.model_dump(), s.label


def test_q3_plans_mbert(plans):
    _, plan = plans["reasoning_sentiment_robustness.yaml"]
    models = {s.params["model"]["name"] for s in plan.steps.values() if s.kind == "train"}
    assert models == {"google-bert/bert-base-multilingual-cased"}


def test_q4_plans_three_english_families_and_an_xtreme_r_target(plans):
    _, plan = plans["domain_transfer.yaml"]
    trains = [s for s in plan.steps.values() if s.kind == "train"]
    models = " ".join({s.params["model"]["name"] for s in trains})
    for family in ("bert-base", "roberta-base", "xlnet-base"):
        assert family in models
    targets = {t for s in trains if s.params["role"] == "target" for t in s.params["tasks"]}
    assert targets & set(all_groups()["xtreme-r"].tasks)
    assert "sst2-70-30" not in targets  # a random split of SST-2 train leaks
    assert any(s.kind == "attack" for s in plan.steps.values())


def test_q5_plans_an_adversarial_attack_target_checkpoints_and_bucc(plans):
    _, plan = plans["alignment_stability.yaml"]
    steps = list(plan.steps.values())
    mixes = [
        t["name"]
        for s in steps
        if s.kind == "attack"
        for t in s.params["attack"]["params"].get("transformations", [])
    ]
    assert "code_mix" in mixes  # an adversarial code-mixing search, not only random noise
    assert any(s.kind == "train" and s.params["role"] == "target" for s in steps)
    retrieved = {s.params.get("task") for s in steps if s.kind == "retrieve"}
    assert "bucc2018" in retrieved


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_include_takes_named_keys_and_merges_mappings(tmp_path):
    _write(
        tmp_path / "base.yaml",
        "name: base\nbenchmark: xtreme\nphases: {target: {epochs: 7, batch_size: 4}}\n"
        "task_overrides: {xnli: {epochs: 2}}\n",
    )
    cfg = load_config(
        _write(
            tmp_path / "study.yaml",
            "include: {path: base.yaml, keys: [phases, task_overrides]}\n"
            "targets: [xnli]\ntask_overrides: {pawsx: {epochs: 5}}\n",
        )
    )
    assert cfg.name == "experiment" and cfg.benchmark is None  # keys not named stay out
    assert cfg.phases.target.epochs == 7 and cfg.phases.target.batch_size == 4
    assert cfg.task_overrides == {"xnli": {"epochs": 2}, "pawsx": {"epochs": 5}}
    whole = load_config(_write(tmp_path / "all.yaml", "include: base.yaml\nname: mine\n"))
    assert whole.name == "mine" and whole.benchmark == "xtreme"


@pytest.mark.parametrize(
    "text, message",
    [
        ("include: missing.yaml\ntargets: [xnli]\n", "file not found"),
        ("include: {path: self.yaml}\ntargets: [xnli]\n", "include cycle"),
        ("include: {path: b.yaml, keys: [nope]}\ntargets: [xnli]\n", "has no nope"),
        ("include: [a, b]\ntargets: [xnli]\n", "expected a file name"),
    ],
)
def test_bad_include_is_one_line_naming_the_file(tmp_path, text, message):
    _write(tmp_path / "b.yaml", "targets: [xnli]\n")
    path = _write(tmp_path / "self.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and "self.yaml" in str(err.value)
    assert "\n" not in str(err.value)
