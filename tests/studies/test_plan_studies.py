"""Every study config plans (without running) at both scales; hub models need no download."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.experiments.config import load_config
from xstilts.experiments.plan import build_plan

STUDIES = sorted((Path(__file__).resolve().parents[2] / "studies").glob("*.yaml"))


def test_every_study_has_a_small_variant():
    full = {p.name for p in STUDIES if not p.name.endswith(".small.yaml")}
    assert full, "no study configs"
    for name in full:
        assert (STUDIES[0].parent / name.replace(".yaml", ".small.yaml")).exists(), name


@pytest.mark.parametrize("path", STUDIES, ids=[p.name for p in STUDIES])
def test_study_plans(path, shared_data):
    plan = build_plan(load_config(path), data_dir=str(shared_data))
    assert plan.steps
    assert all(s.key for s in plan.steps.values())
