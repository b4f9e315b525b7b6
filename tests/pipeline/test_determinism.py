"""Same config and seed on CPU: bit-identical metrics and predictions; phases hand over encoders."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file

from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.experiments.store import ArtifactStore

CONFIG = {
    "name": "determinism",
    "intermediate": ["demo-nli"],
    "target": "demo-sentiment",
    "seeds": [3],
    "phases": {
        "intermediate": {
            "max_steps": 4,
            "batch_size": 8,
            "max_length": 48,
            "freeze_embeddings": True,
            "learning_rate": 1e-4,
        },
        "target": {
            "max_steps": 6,
            "batch_size": 8,
            "max_length": 48,
            "freeze_embeddings": True,
            "learning_rate": 1e-4,
            "eval_every": "end",
        },
    },
    "evaluation": {"languages": ["en", "de", "zh"], "max_examples": 30},
}


def _run(out: Path, overrides: dict | None = None):
    cfg = parse_config({**CONFIG, **(overrides or {})})
    plan = build_plan(cfg)
    LocalExecutor().run(plan, out)
    return plan


def _values(out: Path) -> list[tuple]:
    return [
        (r["intermediate"], r["language"], r["metric"], r["value"])
        for r in ResultsStore(out).rows()
    ]


def _predictions(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out / "steps").as_posix().split("/", 1)[1])
        + p.parent.parent.name: p.read_text()
        for p in sorted((out / "steps").glob("evaluate-*/predictions/*.jsonl"))
    }


@pytest.mark.slow
def test_same_seed_identical_metrics_and_predictions(tmp_path, offline_encoder):
    plan = _run(tmp_path / "a")
    _run(tmp_path / "b")
    va, vb = _values(tmp_path / "a"), _values(tmp_path / "b")
    assert va and va == vb
    pa, pb = _predictions(tmp_path / "a"), _predictions(tmp_path / "b")
    assert len(pa) == 6 and pa == pb

    # the intermediate encoder reaches the target phase, its head does not
    store = ArtifactStore(tmp_path / "a")
    trains = [s for s in plan.steps.values() if s.kind == "train"]
    inter = next(s for s in trains if s.params["role"] == "intermediate")
    after = next(s for s in trains if s.deps.get("init") == inter.key)
    w_inter = load_file(str(store.path(inter.key) / "model.safetensors"))
    w_target = load_file(str(store.path(after.key) / "model.safetensors"))
    assert any(k.startswith("heads.demo-nli") for k in w_inter)
    assert not any(k.startswith("heads.demo-nli") for k in w_target)
    assert any(k.startswith("heads.demo-sentiment") for k in w_target)

    # a different seed gives different weights (the seed is really used)
    _run(tmp_path / "c", {"seeds": [4]})
    assert _values(tmp_path / "c") != va or _predictions(tmp_path / "c") != pa
