"""studies/phang2020.small.yaml plans what the micro replication needs (no training here)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from xstilts.experiments.config import load_config
from xstilts.experiments.plan import build_plan

STUDY = Path(__file__).resolve().parents[2] / "studies" / "phang2020.small.yaml"


@pytest.fixture(scope="module")
def plan_and_cfg(shared_data):
    cfg = load_config(STUDY)
    return build_plan(cfg, data_dir=str(shared_data)), cfg


def test_every_setup_and_seed_trains_each_target_once(plan_and_cfg):
    plan, cfg = plan_and_cfg
    assert len(cfg.setups()) == 10 and cfg.seeds == [1, 2, 3]  # 8 tasks, the mix, the baseline
    steps = list(plan.steps.values())
    inter = [s for s in steps if s.kind == "train" and s.params["role"] == "intermediate"]
    assert len(inter) == 9 * 3
    assert max(len(s.params["tasks"]) for s in inter) == 10  # the multi-task mix of all of them
    targets = Counter(
        s.params["tasks"][0] for s in steps if s.kind == "train" and s.params["role"] == "target"
    )
    assert targets == {t: 30 for t in ("xnli-testen", "panx-dev", "udpos-ud", "tydiqa-heldout")}
    qa = Counter(s.params["task"] for s in steps if s.params.get("head") == "tydiqa-heldout")
    assert qa == {"xquad": 30, "mlqa-dev": 30}  # scored with the one QA training


def test_retrieval_after_each_intermediate_at_default_and_every_layer(plan_and_cfg):
    plan, _ = plan_and_cfg
    steps = list(plan.steps.values())
    inter_keys = {s.key for s in steps if s.kind == "train" and s.params["role"] == "intermediate"}
    for task in ("tatoeba", "bucc2018"):
        after = {
            s.deps.get("checkpoint")
            for s in steps
            if s.kind == "retrieve" and s.params.get("task") == task
        }
        assert inter_keys <= after, task  # default layer, after every intermediate checkpoint
    align = [s for s in steps if s.kind == "align"]
    assert len(align) == 3  # one per seed, every layer
    for s in align:
        assert set(inter_keys & set(s.deps.values())) and len(s.deps) == 9
        assert s.params["alignment"]["metrics"] == ["retrieval"]
        assert s.params["alignment"]["layers"] is None  # all layers
