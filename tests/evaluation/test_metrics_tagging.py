"""seqeval chunk F1 as XTREME computes it, its 0.0.x variant, and token accuracy."""

from __future__ import annotations

import random
import warnings

import pytest
from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import compute
from xstilts.evaluation.metrics_tagging import get_entities


def test_i_after_o_starts_a_chunk() -> None:
    out = compute(
        "seqeval", predictions=[["I-PER", "I-PER", "O"]], references=[["B-PER", "I-PER", "O"]]
    )
    assert out == {"f1": 1.0, "precision": 1.0, "recall": 1.0}


def test_boundaries_hand_case() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG", "B-ORG"]]
    # gold: PER(0,1) LOC(3,3) ORG(5,7); pred: PER(0,0) LOC(3,3) ORG(5,6) ORG(7,7): 1 correct
    out = compute("seqeval", predictions=pred, references=gold)
    assert out["precision"] == pytest.approx(1 / 4) and out["recall"] == pytest.approx(1 / 3)
    assert out["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    # a type change inside a run splits it; sentence ends close chunks
    assert get_entities([["B-PER", "I-LOC"], ["I-LOC"]]) == [
        ("PER", 0, 0),
        ("LOC", 1, 1),
        ("LOC", 3, 3),
    ]


def test_pos_tags_are_chunked() -> None:
    # XTREME scores UD-POS with seqeval too: adjacent equal tags merge into one chunk
    out = compute("seqeval", predictions=[["NOUN", "VERB"]], references=[["NOUN", "NOUN"]])
    assert out["f1"] == 0.0
    assert compute(
        "token_accuracy", predictions=[["NOUN", "VERB"]], references=[["NOUN", "NOUN"]]
    ) == {"accuracy": 0.5}


def test_v0_differs_only_on_dashless_types() -> None:
    # seqeval 1.x types a dash-less tag by tag[1:]: CCONJ and SCONJ are both "CONJ"
    assert compute("seqeval", predictions=[["SCONJ"]], references=[["CCONJ"]])["f1"] == 1.0
    assert compute("seqeval_v0", predictions=[["SCONJ"]], references=[["CCONJ"]])["f1"] == 0.0
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "I-LOC"]]
    assert compute("seqeval_v0", predictions=pred, references=gold) == compute(
        "seqeval", predictions=pred, references=gold
    )


def test_chunking_matches_installed_seqeval() -> None:
    rnd = random.Random(0)
    tags = [
        "O",
        "B-PER",
        "I-PER",
        "B-LOC",
        "I-LOC",
        "E-LOC",
        "S-PER",
        "NOUN",
        "PUNCT",
        "SCONJ",
        "X",
        "INTJ",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(300):
            sents = [
                [rnd.choice(tags) for _ in range(rnd.randint(1, 6))]
                for _ in range(rnd.randint(1, 3))
            ]
            assert get_entities(sents, "v1") == seqeval_entities(sents)


def test_empty_and_mismatched() -> None:
    assert compute("seqeval", predictions=[["O"]], references=[["O"]])["f1"] == 0.0
    with pytest.raises(ConfigError):
        compute("seqeval", predictions=[["O", "O"]], references=[["O"]])
    with pytest.raises(ConfigError):
        compute("seqeval", predictions=[["O"]], references=[["O"], ["O"]])
    with pytest.raises(ConfigError):
        compute("token_accuracy", predictions=["O"], references=["O"])
    with pytest.raises(ConfigError):
        compute("seqeval_v0", predictions=[[""]], references=[["O"]])
