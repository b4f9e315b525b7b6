"""Data sources: plain files with a column map and a seeded ratio split, the Hugging Face adapter,
and the tokenised-feature cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.data import cache as cache_mod
from xstilts.data.sources import load_examples
from xstilts.errors import DataError
from xstilts.tasks.spec import TaskSpec


def _spec(splits: dict) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "reviews",
            "family": "classification",
            "languages": ["en"],
            "labels": ["neg", "pos"],
            "text_fields": ["text_a"],
            "splits": splits,
        }
    )


def _tsv(tmp: Path, n: int = 100) -> Path:
    p = tmp / "reviews.tsv"
    rows = ["review\tstars"] + [f"review number {i}\t{'pos' if i % 2 else 'neg'}" for i in range(n)]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_ratio_split_is_seeded_disjoint_and_complete(tmp_path):
    path = _tsv(tmp_path)
    src = {
        "format": "tsv_header",
        "path": str(path),
        "params": {"column_map": {"text_a": "review", "label": "stars"}, "slice_seed": 13},
    }
    spec = _spec(
        {
            "train": [{**src, "params": {**src["params"], "slice": [0.0, 0.7]}}],
            "test": [{**src, "params": {**src["params"], "slice": [0.7, 1.0]}}],
        }
    )
    train, _ = load_examples(spec, "train", "en", None)
    test, _ = load_examples(spec, "test", "en", None)
    assert (len(train), len(test)) == (70, 30)
    ids_train, ids_test = {e["id"] for e in train}, {e["id"] for e in test}
    assert not ids_train & ids_test and len(ids_train | ids_test) == 100
    again, _ = load_examples(spec, "train", "en", None)
    assert [e["id"] for e in again] == [e["id"] for e in train]
    other = _spec(
        {"train": [{**src, "params": {**src["params"], "slice": [0.0, 0.7], "slice_seed": 14}}]}
    )
    assert {e["id"] for e in load_examples(other, "train", "en", None)[0]} != ids_train


def test_huggingface_source_maps_columns_and_int_labels(tmp_path):
    """The hub adapter (datasets.load_dataset) exercised offline with the `json` builder."""
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"sentence": f"s{i}", "lab": i % 2}) for i in range(6)))
    spec = _spec(
        {
            "train": [
                {
                    "hf": {
                        "path": "json",
                        "split": "train",
                        "data_files": str(data),
                        "columns": {"text_a": "sentence", "label": "lab"},
                        "label_names": ["neg", "pos"],
                    }
                }
            ]
        }
    )
    ex, fp = load_examples(spec, "train", "en", None)
    assert [(e["text_a"], e["label"]) for e in ex[:3]] == [
        ("s0", "neg"),
        ("s1", "pos"),
        ("s2", "neg"),
    ]
    assert fp.startswith("hf:json")


def test_local_file_preferred_and_missing_everywhere_is_one_error(tmp_path):
    spec = _spec(
        {
            "train": [
                {
                    "format": "tsv_header",
                    "path": "nowhere/reviews.tsv",
                    "params": {"column_map": {"text_a": "review", "label": "stars"}},
                },
                {
                    "hf": {
                        "path": "no-such-org/no-such-dataset",
                        "split": "train",
                        "columns": {"text_a": "x"},
                    }
                },
            ]
        }
    )
    with pytest.raises(DataError) as exc:
        load_examples(spec, "train", "en", tmp_path)
    msg = exc.value.one_line()
    assert "nowhere/reviews.tsv" in msg and "no-such-dataset" in msg and "\n" not in msg


def test_feature_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    calls = []

    def build():
        calls.append(1)
        return {"input_ids": [[0, 5, 2], [0, 7, 8, 2]], "labels": [0, 1]}

    a = cache_mod.cached_features("k1", build)
    b = cache_mod.cached_features("k1", build)
    c = cache_mod.cached_features("k2", build)
    assert len(calls) == 2 and a == b == c
    assert list((tmp_path / "cache" / "features").iterdir())


def test_label_sorted_marc_gives_a_balanced_first_n(shared_data):
    """MARC's files hold 1,000 negative rows, then neutral, then positive: a first-N subset must
    not be one class, and the full set must be the file's rows, each once."""
    from collections import Counter

    from xstilts.tasks.registry import get_task

    spec = get_task("marc")
    head, _ = load_examples(spec, "test", "zh", shared_data, limit=150)
    assert Counter(ex["label"] for ex in head) == {"negative": 50, "neutral": 50, "positive": 50}
    full, _ = load_examples(spec, "test", "zh", shared_data)
    assert len(full) == 3000 and len({ex["id"] for ex in full}) == 3000
    assert Counter(ex["label"] for ex in full) == {
        lab: 1000 for lab in ("negative", "neutral", "positive")
    }


def test_step_fingerprint_sees_source_params(shared_data, monkeypatch):
    """Editing how a file is read (here: MARC's row order) must change the data fingerprint in
    step keys, or cached evaluations of the old reading are served."""
    from xstilts.experiments import plan as plan_mod
    from xstilts.tasks.registry import get_task

    spec = get_task("marc")
    before = plan_mod._data_fp("marc", "test", "zh", shared_data)
    test = [
        s.model_copy(update={"params": {**s.params, "interleave_labels": False}})
        for s in spec.splits["test"]
    ]
    edited = spec.model_copy(update={"splits": {**spec.splits, "test": test}})
    monkeypatch.setattr(plan_mod, "get_task", lambda name, **kw: edited)
    after = plan_mod._data_fp("marc", "test", "zh", shared_data)
    assert before != after and before.split(":")[0] == after.split(":")[0]  # same file
