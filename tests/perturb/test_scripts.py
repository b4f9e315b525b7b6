"""Every character perturbation keeps text valid in the word's own script, on real sentences."""

from __future__ import annotations

import random
import unicodedata

import pytest
import regex

from xstilts.perturb import build
from xstilts.perturb.text import apply_edits, char_script, graphemes, words

LANGS = ["hi", "th", "ta", "zh", "ar", "de"]
CHAR_OPS = ["char_swap", "char_insert", "char_delete", "char_substitute", "keyboard"]
THAI_NOT_FIRST = regex.compile(r"^[\u0e30-\u0e3a\u0e45\u0e47-\u0e4e]")
THAI_NOT_LAST = regex.compile(r"[\u0e40-\u0e44]$")
ASCII_LETTER = regex.compile(r"[A-Za-z]")


def _word_at(orig: str, pos: int):
    for w in words(orig):
        if w.start <= pos <= w.end:
            return w
    raise AssertionError(f"edit at {pos} is outside every word of {orig!r}")


def _check_valid(orig: str, new: str) -> None:
    for g in graphemes(new):
        if unicodedata.category(g[0])[0] == "M":
            assert new.startswith(g) and orig.startswith(g), (
                f"cluster starts with a mark: {g!r} in {new!r}"
            )
        if g[0].isspace() and len(g) > 1:
            raise AssertionError(f"mark attached to a space: {g!r} in {new!r}")
    old_runs = set(regex.findall(r"\w+", orig))
    for run in regex.findall(r"\w+", new):
        if run in old_runs:
            continue
        assert unicodedata.category(run[0])[0] != "M", f"word starts with a mark: {run!r}"
        if char_script(run[0]) == "Thai":
            assert not THAI_NOT_FIRST.search(run), (
                f"Thai dependent vowel/sign at word start: {run!r}"
            )
            assert not THAI_NOT_LAST.search(run), f"Thai leading vowel at word end: {run!r}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("op", CHAR_OPS)
def test_char_ops_stay_in_script(sentences, lang, op):
    p = build(op, {"rate": 0.3})
    n_edits = 0
    for i, orig in enumerate(sentences[lang]):
        new, edits = p.apply(orig, lang, random.Random(i))
        assert apply_edits(orig, edits) == new
        _check_valid(orig, new)
        for e in edits:
            w = _word_at(orig, e.start)
            assert e.end <= w.end, "edits stay inside one word"
            if e.kind in ("insert", "substitute"):
                added = graphemes(e.after)
                assert len(added) == 1 and len(e.after) == 1, "one base letter"
                assert char_script(e.after) == w.script, (e, w.script)
            if e.kind in ("swap", "delete"):
                assert sorted(graphemes(e.after)) == sorted(graphemes(e.before)) or e.after == ""
            if e.kind == "keyboard":
                assert all(char_script(c) in (w.script, "Inherited") for c in e.after), (
                    e,
                    w.script,
                )
            if w.script != "Latin":
                assert not ASCII_LETTER.search(e.after), (
                    f"ASCII letter inserted into {w.script}: {e}"
                )
        n_edits += len(edits)
    if op == "keyboard" and lang == "zh":
        assert n_edits == 0  # Chinese is typed through an IME: no layout, no keyboard typos
    else:
        assert n_edits > 10, f"{op} made only {n_edits} edits on {lang}"


@pytest.mark.parametrize("lang", ["hi", "th", "ta"])
def test_non_char_ops_keep_clusters(sentences, lang):
    for op in ("zero_width", "whitespace", "diacritics", "homoglyph"):
        p = build(op, {"rate": 0.5})
        for i, orig in enumerate(sentences[lang]):
            new, edits = p.apply(orig, lang, random.Random(i))
            assert apply_edits(orig, edits) == new
            _check_valid(orig, new)
            if op == "diacritics":
                assert new == orig, "Indic/Thai vowel signs are never stripped"


def test_diacritics_rules():
    p = build("diacritics", {"rate": 1.0})
    rng = random.Random(0)
    assert p.apply("Tiếng Việt có dấu", "vi", rng)[0] == "Tieng Viet co dau"
    assert p.apply("Ещё мой чай", "ru", rng)[0] == "Еще мой чай"  # й kept by default
    assert build("diacritics", {"cyrillic_short_i": True}).apply("мой", "ru", rng)[0] == "мои"
    assert p.apply("Καλημέρα, Ελλάδα", "el", rng)[0] == "Καλημερα, Ελλαδα"
    assert p.apply("السَّلَامُ عَلَيْكُمْ", "ar", rng)[0] == "السلام عليكم"
    assert p.apply("Łódź straße", "pl", rng)[0] == "Lodz straße"
    assert p.apply("हिन्दी ภาษาไทย", "hi", rng)[0] == "हिन्दी ภาษาไทย"


def test_homoglyph_cross_script_changes_script_but_looks_same():
    p = build("homoglyph", {"rate": 1.0})
    new, edits = p.apply("paypal account", "en", random.Random(0))
    assert edits and new != "paypal account"
    for e in edits:
        assert char_script(e.after[0]) not in ("Latin", "Common")
        assert len(e.after) == len(e.before) == 1


def test_zero_width_is_invisible_and_between_clusters(sentences):
    p = build("zero_width", {"rate": 1.0})
    for orig in sentences["hi"][:10]:
        new, edits = p.apply(orig, "hi", random.Random(1))
        assert edits
        assert regex.sub(r"[\u200b\u200c\u200d\u2060]", "", new) == orig
        for e in edits:
            w = _word_at(orig, e.start)
            assert e.start in [a for a, _ in w.spans[1:]], "inserted between clusters, not inside"


def test_config_is_validated():
    from xstilts.errors import ConfigError

    with pytest.raises(ConfigError, match="rate"):
        build("char_swap", {"rate": 1.5})
    with pytest.raises(ConfigError, match="unknown key"):
        build("char_swap", {"rat": 0.1})
    with pytest.raises(ConfigError, match="did you mean"):
        build("char_swp", {})
    with pytest.raises(ConfigError):
        build("diacritics", {"scripts": ["Devanagari"]})
