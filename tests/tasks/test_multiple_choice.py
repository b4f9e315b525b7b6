"""Multiple choice: featurising real SIQA / XCOPA rows, choice padding, and XCOPA after SIQA."""

from __future__ import annotations

import json

import pytest
import torch

from xstilts.data.sources import load_examples
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore
from xstilts.models.heads_mc import ChoiceHeadConfig, MultipleChoiceHead
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task

XCOPA_LANGS = ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]


@pytest.fixture(scope="module")
def tok(offline_encoder):
    from xstilts.models.encoder import load_tokenizer, resolve_model

    return load_tokenizer(resolve_model(str(offline_encoder)))


def test_siqa_rows_become_one_pair_per_choice(shared_data, tok):
    spec = get_task("siqa")
    ex, _ = load_examples(spec, "dev", "en", shared_data, limit=5)
    feats = get_family("multiple_choice").featurize(ex, tok, spec, 128)
    assert [len(x) for x in feats["input_ids"]] == [3] * 5
    first = tok.decode(feats["input_ids"][0][2], skip_special_tokens=True)
    assert ex[0]["context"].split()[0] in first
    assert ex[0]["question"] in first and ex[0]["choices"][2] in first
    assert feats["labels"] == [e["label"] for e in ex]


def test_copa_question_is_phrased(shared_data, tok):
    spec = get_task("xcopa")
    ex, _ = load_examples(spec, "test", "it", shared_data, limit=20)
    feats = get_family("multiple_choice").featurize(ex, tok, spec, 128)
    for e, ids in zip(ex, feats["input_ids"], strict=True):
        text = tok.decode(ids[0], skip_special_tokens=True)
        want = "What was the cause?" if e["question"] == "cause" else "What happened as a result?"
        assert want in text and e["choices"][0] in text


def test_collate_pads_choices_and_head_masks_them():
    fam = get_family("multiple_choice")
    rows = [
        {"input_ids": [[0, 5, 2], [0, 6, 7, 2]], "labels": 1},
        {"input_ids": [[0, 8, 2], [0, 9, 2], [0, 4, 4, 4, 2]], "labels": 2},
    ]
    batch = fam.collate(rows, pad_id=1)
    assert batch["input_ids"].shape == (6, 5)
    assert batch["choice_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    head = MultipleChoiceHead(8, ChoiceHeadConfig(dropout=0.0)).eval()
    hidden = torch.randn(6, 5, 8)
    logits = head(hidden, batch["attention_mask"], choice_mask=batch["choice_mask"])
    assert logits.shape == (2, 3)
    assert logits[0, 2] == torch.finfo(logits.dtype).min  # padded choice can never win
    probs = logits.softmax(-1)
    assert probs[0, 2] == 0 and torch.allclose(probs.sum(-1), torch.ones(2))
    loss = fam.loss(logits, batch)
    assert torch.isfinite(loss)
    assert fam.decode(logits, batch)[0] in (0, 1)


def test_bad_label_is_a_data_error(tok):
    from xstilts.errors import DataError

    spec = get_task("siqa")
    bad = [{"id": "x-1", "context": "c", "question": "q", "choices": ["a", "b"], "label": 5}]
    with pytest.raises(DataError, match="x-1"):
        get_family("multiple_choice").featurize(bad, tok, spec, 32)


def _xcopa_after_siqa(tmp_path, shared_data, langs, n_eval, steps):
    cfg = parse_config(
        {
            "name": "xcopa-siqa",
            "model": "offline",
            "intermediate": ["siqa"],
            "baseline": False,
            "target": "xcopa",
            # SIQA's train file is not in the shared data: train on dev, select nothing
            "task_overrides": {
                "siqa": {"train_split": "dev", "max_examples": 8 * steps},
                # English COPA train is missing too: XCOPA's MT-into-English val items (disjoint
                # from the test items), see tasks/configs/multiple_choice/xcopa.yaml
                "xcopa": {"train_split": "train_mt_val"},
            },
            "phases": {
                "intermediate": {
                    "max_steps": steps,
                    "batch_size": 8,
                    "max_length": 64,
                    "learning_rate": 3e-5,
                    "freeze_embeddings": True,
                    "select_best": False,
                },
                "target": {
                    "max_steps": steps,
                    "batch_size": 8,
                    "max_length": 64,
                    "learning_rate": 3e-5,
                    "freeze_embeddings": True,
                },
            },
            "evaluation": {"split": "test", "languages": langs, "max_examples": n_eval},
        }
    )
    plan = build_plan(cfg, data_dir=str(shared_data))
    assert plan.counts() == {"train": 2, "evaluate": 1}
    LocalExecutor().run(plan, tmp_path)
    df = ResultsStore(tmp_path).frame()
    acc = df[(df.metric == "accuracy") & (df.language != "avg")]
    assert sorted(acc.language) == sorted(langs)
    assert set(acc.intermediate) == {"siqa"} and set(acc.target) == {"xcopa"}
    assert all(e["n"] == n_eval for e in acc.extra)
    assert acc.value.between(0, 1).all()
    # predictions are written per language, one per test item, with 0/1 choices
    ev = next(p for p in (tmp_path / "steps").iterdir() if p.name.startswith("evaluate-"))
    lines = (ev / "predictions" / f"{langs[0]}.jsonl").read_text().splitlines()
    assert len(lines) == n_eval and {json.loads(x)["prediction"] for x in lines} <= {0, 1}
    return acc


@pytest.mark.slow
def test_xcopa_after_siqa_subset(tmp_path, shared_data):
    _xcopa_after_siqa(tmp_path, shared_data, ["it", "sw"], n_eval=40, steps=4)


@pytest.mark.full
def test_xcopa_after_siqa_all_languages(tmp_path, shared_data):
    acc = _xcopa_after_siqa(tmp_path, shared_data, XCOPA_LANGS, n_eval=500, steps=200)
    print(acc[["language", "value"]].to_string())
