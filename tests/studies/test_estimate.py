"""Plan sizes (experiments/estimate.py), one QA training scored on several QA sets
(evaluation.also_score) and the ``exclude`` reader, on the real files of ``../shared/data``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xstilts.cli.main import app
from xstilts.data.readers import read
from xstilts.errors import ConfigError, DataError
from xstilts.experiments.config import parse_config
from xstilts.experiments.estimate import gpu_hours, plan_size, train_size
from xstilts.experiments.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]


def _plan(shared_data, **over):
    cfg = {
        "model": "offline",
        "baseline": False,
        "intermediate": ["commonsenseqa-heldout"],
        "targets": ["xnli-testen"],
        "phases": {
            "intermediate": {"max_steps": 10, "batch_size": 8, "max_length": 64},
            "target": {"epochs": 2, "batch_size": 16, "grad_accum": 2, "max_length": 64},
        },
        **over,
    }
    return build_plan(parse_config(cfg), data_dir=str(shared_data))


def test_train_sizes_follow_the_rows_and_the_phase(shared_data):
    plan = _plan(shared_data)
    trains = [s for s in plan.steps.values() if s.kind == "train"]
    sizes = {s.params["role"]: train_size(s, shared_data) for s in trains}
    inter, target = sizes["intermediate"], sizes["target"]
    # 10 batches of 8 CommonsenseQA questions, 5 choices each: one sequence per choice
    assert (inter.batches, inter.sequences, inter.tokens) == (10, 400, 400 * 64)
    # 4,509 English XNLI training rows (90% of 5,010), batches of 16, 2 epochs, 2 per update
    batches = round(math.ceil(4509 / 16) * 2)
    assert (target.batches, target.updates) == (batches, math.ceil(batches / 2))
    assert target.tokens == batches * 16 * 64
    total = plan_size(plan, shared_data)
    assert total["tokens"] == inter.tokens + target.tokens
    assert "DeepLearningExamples" in total["reference"]["source"]


def test_missing_training_files_are_sized_from_published_counts(shared_data):
    # MNLI train is not in ../shared/data: its published 392,702 rows are used
    plan = _plan(shared_data, intermediate=["mnli"], targets=["xnli-testen"])
    (inter,) = [s for s in plan.steps.values() if s.params.get("role") == "intermediate"]
    assert train_size(inter, shared_data).batches == 10  # max_steps wins
    inter.params["phase"]["max_steps"] = None
    inter.params["phase"]["epochs"] = 1
    assert train_size(inter, shared_data).batches == math.ceil(392702 / 8)


def test_gpu_hours_scale_with_layers_times_hidden_squared():
    large = gpu_hours(10**9, "FacebookAI/xlm-roberta-large")
    base = gpu_hours(10**9, "google-bert/bert-base-multilingual-cased")
    assert large / base == pytest.approx((24 * 1024**2) / (12 * 768**2))
    assert gpu_hours(10**9, "some/unknown-model") is None


def test_plan_prints_size_and_reference(shared_data):
    res = CliRunner().invoke(
        app,
        [
            "plan",
            str(ROOT / "studies" / "reasoning_sentiment_robustness.yaml"),
            "--data-dir",
            str(shared_data),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    size = json.loads(res.output)["size"]
    assert size["train_steps"] == 51 and size["tokens"] > 0 and size["gpu_hours"] > 0
    assert size["unsized_models"] == []


def test_also_score_trains_qa_once_and_scores_three_sets(shared_data):
    plan = _plan(
        shared_data,
        intermediate=[],
        baseline=True,
        targets=["tydiqa-heldout"],
        evaluation={"also_score": {"tydiqa-heldout": ["xquad", "mlqa-dev"]}},
    )
    (train,) = [s for s in plan.steps.values() if s.kind == "train"]
    evals = {s.params["task"]: s for s in plan.steps.values() if s.kind == "evaluate"}
    assert set(evals) == {"tydiqa-heldout", "xquad", "mlqa-dev"}
    for name in ("xquad", "mlqa-dev"):
        assert evals[name].deps == {"checkpoint": train.key}
        assert evals[name].params["head"] == "tydiqa-heldout"
        assert evals[name].params["labels"]["target"] == name
    assert "head" not in evals["tydiqa-heldout"].params  # existing keys unchanged


@pytest.mark.parametrize(
    "also, message",
    [
        ({"tydiqa-heldout": ["xnli-testen"]}, "family or labels differ"),
        ({"xquad": ["mlqa-dev"]}, "not a target"),
    ],
)
def test_also_score_refuses_what_the_head_cannot_score(shared_data, also, message):
    with pytest.raises(ConfigError, match=message):
        _plan(
            shared_data,
            intermediate=[],
            baseline=True,
            targets=["tydiqa-heldout"],
            evaluation={"also_score": also},
        )


def _squad(path: Path, ids: list[str]) -> Path:
    ctx = "Paris is the capital of France."
    qas = [
        {"id": i, "question": "What?", "answers": [{"text": "Paris", "answer_start": 0}]}
        for i in ids
    ]
    doc = {"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": qas}]}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_exclude_drops_by_id_and_checks_the_count(tmp_path):
    main = _squad(tmp_path / "dev.json", ["a", "b", "c"])
    _squad(tmp_path / "held.json", ["b", "z"])
    params = {"format": "squad", "exclude": ["held.json"]}
    assert [ex["id"] for ex in read("exclude", main, params)] == ["a", "c"]
    with pytest.raises(DataError) as err:
        read("exclude", main, {**params, "expect_removed": 2})
    assert "dev.json" in str(err.value) and "removed 1" in str(err.value)
    with pytest.raises(DataError, match="missing.json"):
        read("exclude", main, {**params, "exclude": ["missing.json"]})
