"""Seeding, label preservation per family, stats and the display helper."""

from __future__ import annotations

import json
import random

import pytest
from perturb_data import panx_sentences, xnli_sentences

from xstilts.errors import ConfigError, DataError
from xstilts.perturb import perturb_dataset, perturb_example, perturbation_key, show_perturbation
from xstilts.perturb.base import build


def _nli(shared, lang, n=30):
    s = xnli_sentences(shared, lang, 2 * n)
    return [
        {"id": f"{lang}-{i}", "text_a": s[2 * i], "text_b": s[2 * i + 1], "label": i % 3}
        for i in range(n)
    ]


def _dump(exs):
    return json.dumps(
        sorted(exs, key=lambda e: e["id"]), ensure_ascii=False, sort_keys=True
    ).encode()


def test_same_seed_identical_different_seed_differs(shared_data):
    exs = _nli(shared_data, "de")
    a, sa = perturb_dataset(exs, "classification", "char_swap", {"rate": 0.2}, "de", seed=7)
    b, sb = perturb_dataset(exs, "classification", "char_swap", {"rate": 0.2}, "de", seed=7)
    c, _ = perturb_dataset(exs, "classification", "char_swap", {"rate": 0.2}, "de", seed=8)
    assert _dump(a) == _dump(b) and sa.to_dict() == sb.to_dict()
    assert _dump(a) != _dump(c)
    assert [e["label"] for e in a] == [e["label"] for e in exs]
    assert sa.n_changed > 20


def test_order_and_batching_independent(shared_data):
    exs = _nli(shared_data, "hi")
    full, _ = perturb_dataset(exs, "classification", "keyboard", {"rate": 0.2}, "hi", seed=3)
    rev, _ = perturb_dataset(exs[::-1], "classification", "keyboard", {"rate": 0.2}, "hi", seed=3)
    b1, _ = perturb_dataset(exs[:11], "classification", "keyboard", {"rate": 0.2}, "hi", seed=3)
    b2, _ = perturb_dataset(exs[11:], "classification", "keyboard", {"rate": 0.2}, "hi", seed=3)
    assert _dump(full) == _dump(rev) == _dump(b1 + b2)


def test_params_change_the_key_and_output(shared_data):
    k1 = perturbation_key("char_swap", {"rate": 0.1}, 0)
    assert k1 == perturbation_key(
        "char_swap", {"rate": 0.1, "skip_first_last": False}, 0
    )  # defaults
    assert k1 != perturbation_key("char_swap", {"rate": 0.2}, 0)
    assert k1 != perturbation_key("char_delete", {"rate": 0.1}, 0)
    assert k1 != perturbation_key("char_swap", {"rate": 0.1}, 1)


def test_fields_selects_one_column(shared_data):
    exs = _nli(shared_data, "de", 10)
    out, _ = perturb_dataset(
        exs, "classification", "char_delete", {"rate": 0.5}, "de", 0, fields=["text_b"]
    )
    assert [e["text_a"] for e in out] == [e["text_a"] for e in exs]
    assert sum(o["text_b"] != e["text_b"] for o, e in zip(out, exs, strict=True)) >= 8
    with pytest.raises(ConfigError, match="fields"):
        perturb_dataset(exs, "classification", "char_delete", {}, "de", 0, fields=["context"])


def test_stats_rates_match_edits(shared_data):
    exs = _nli(shared_data, "de")
    _, st = perturb_dataset(exs, "classification", "char_substitute", {"rate": 0.1}, "de", 0)
    # substitutions touch exactly one grapheme each and rate counts letter clusters
    assert st.edited_graphemes == st.n_edits
    assert 0.05 < st.grapheme_edit_rate < 0.12
    assert st.edited_words <= st.n_edits and st.word_edit_rate > st.grapheme_edit_rate
    assert st.edits_by_kind == {"substitute": st.n_edits}
    assert st.undone_share is None


@pytest.mark.parametrize("lang", ["de", "ta", "hi"])
def test_tagging_tokens_stay_aligned(shared_data, lang):
    exs = [
        {"id": i, "tokens": t, "tags": g}
        for i, (t, g) in enumerate(panx_sentences(shared_data, lang, 30))
    ]
    for name in ("char_delete", "whitespace", "char_insert", "zero_width"):
        out, st = perturb_dataset(exs, "tagging", name, {"rate": 0.5}, lang, 1)
        changed = 0
        for o, e in zip(out, exs, strict=True):
            assert len(o["tokens"]) == len(e["tokens"]) and o["tags"] == e["tags"]
            for t, t0 in zip(o["tokens"], e["tokens"], strict=True):
                assert t.strip() and len(t.split()) == len(t0.split())
                changed += t != t0
        if name != "whitespace":
            assert changed > 20, (name, changed)


@pytest.mark.parametrize("lang", ["de", "th", "zh", "hi"])
def test_qa_answers_findable(xquad_examples, lang):
    exs = xquad_examples[lang]
    for name, params in [
        ("char_swap", {"rate": 0.3}),
        ("char_insert", {"rate": 0.3}),
        ("zero_width", {"rate": 0.5}),
        ("whitespace", {"rate": 0.3}),
    ]:
        out, st = perturb_dataset(exs, "qa", name, params, lang, 5)
        assert st.n_changed > len(exs) // 2
        answers_changed = 0
        for o, e in zip(out, exs, strict=True):
            assert len(o["answers"]) == len(e["answers"])
            for a, a0 in zip(o["answers"], e["answers"], strict=True):
                assert (
                    o["context"][a["answer_start"] : a["answer_start"] + len(a["text"])]
                    == a["text"]
                )
                assert a["text"].strip()
                answers_changed += a["text"] != a0["text"]
        assert o["context"] != e["context"] or st.n_changed


def test_qa_wrong_offset_is_data_error():
    ex = {
        "id": "x",
        "context": "Berlin ist groß.",
        "question": "Wo?",
        "answers": [{"text": "Berlin", "answer_start": 3}],
    }
    with pytest.raises(DataError, match="not found at offset 3"):
        perturb_example(ex, "qa", build("char_swap", {}), "de", random.Random(0))


def test_multiple_choice_choices_each_perturbed(shared_data):
    rows = [
        json.loads(line)
        for line in (shared_data / "xcopa" / "data" / "ta" / "val.ta.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()[:20]
    ]
    exs = [
        {
            "id": r["idx"],
            "context": r["premise"],
            "question": r["question"],
            "choices": [r["choice1"], r["choice2"]],
            "label": r["label"],
        }
        for r in rows
    ]
    out, st = perturb_dataset(
        exs,
        "multiple_choice",
        "char_substitute",
        {"rate": 0.3},
        "ta",
        0,
        fields=["context", "choices"],
    )
    assert [o["label"] for o in out] == [e["label"] for e in exs]
    assert [o["question"] for o in out] == [e["question"] for e in exs]
    assert sum(o["choices"][1] != e["choices"][1] for o, e in zip(out, exs, strict=True)) > 10


def test_tokenizer_undone_share():
    """An NFKC + zero-width-stripping 'tokenizer' undoes every invisible insertion, no swap."""
    import unicodedata

    def tok(text: str) -> list[int]:
        t = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\u2060", "")
        return [ord(c) for c in t]

    exs = [
        {"id": i, "text_a": s, "label": 0}
        for i, s in enumerate(["ein kleiner Test hier", "noch ein Satz mit Wörtern"])
    ]
    _, st = perturb_dataset(
        exs,
        "classification",
        "zero_width",
        {"rate": 1.0, "chars": ["\u200b", "\u2060"]},
        "de",
        0,
        tokenizer=tok,
    )
    assert st.tokenizer_checked == st.n_edits > 0 and st.undone_share == 1.0
    _, st = perturb_dataset(
        exs, "classification", "char_swap", {"rate": 0.5}, "de", 0, tokenizer=tok
    )
    assert st.tokenizer_checked > 0 and st.undone_share == 0.0


def test_show_perturbation_marks_edits():
    out = show_perturbation("Der Hund läuft schnell", "de", "zero_width", {"rate": 1.0}, 0)
    assert "<U+" in out and "edits (" in out and "original : Der Hund läuft schnell" in out
    assert out == show_perturbation("Der Hund läuft schnell", "de", "zero_width", {"rate": 1.0}, 0)


def test_real_tokenizer_undoes_space_noise_not_swaps(offline_encoder):
    """XLM-R's sentencepiece normaliser collapses doubled and NBSP spaces, but keeps swaps."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(offline_encoder)
    exs = [
        {"id": i, "text_a": s, "label": 0}
        for i, s in enumerate(["Der schnelle braune Fuchs springt", "noch ein Satz mit Wörtern"])
    ]
    _, st = perturb_dataset(
        exs,
        "classification",
        "whitespace",
        {"rate": 1.0, "ops": ["double"]},
        "de",
        0,
        tokenizer=tok,
    )
    assert st.tokenizer_checked > 0 and st.undone_share == 1.0
    _, st = perturb_dataset(
        exs, "classification", "char_swap", {"rate": 0.5}, "de", 0, tokenizer=tok
    )
    assert st.tokenizer_checked > 0 and st.undone_share == 0.0
