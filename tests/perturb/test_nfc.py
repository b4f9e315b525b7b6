"""Perturbed NFC text stays NFC, even where a keyboard offers a composition exclusion.

The Hindi layout has U+095F (DEVANAGARI LETTER YYA), which NFC writes as U+092F U+093C; inserting
it verbatim made text no corpus contains (caught by the full robustness run on real XNLI). The
alphabets for inserted and substituted letters leave such letters out (an insert is one code
point); keyboard neighbours keep them and are written normalised.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from xstilts.perturb.base import build
from xstilts.perturb.text import alphabet

TEXTS = {
    "hi": "जब ही उसकी स्कूल बस ने उसे उतरा उसने अपनी माँ को बुलाया",
    "bn": "আমি তোমাকে ভালোবাসি এবং আমরা বাড়ি যাব",
    "de": "Über die Brücke gehen wir täglich",
    "vi": "Tiếng Việt có nhiều dấu thanh",
}


def test_the_hindi_layout_has_a_composition_exclusion_the_alphabet_leaves_out():
    from xstilts.perturb.keyboard import layout_letters

    assert "\u095f" in layout_letters("hi")  # why this test exists
    letters = alphabet("Devanagari", "hi")
    assert "\u095f" not in letters and "\u092f" in letters
    assert all(unicodedata.normalize("NFC", c) == c for c in letters)


@pytest.mark.parametrize("name", ["char_insert", "char_substitute", "keyboard"])
@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_outputs_and_attack_candidates_stay_nfc(name, lang):
    p = build(name, {"rate": 1.0})
    text = TEXTS[lang]
    assert unicodedata.is_normalized("NFC", text)
    for seed in range(60):
        out, _ = p.apply(text, lang, random.Random(seed))
        assert unicodedata.is_normalized("NFC", out), (seed, out)
    for word in text.split():
        for cand in p.candidates(word, lang, random.Random(0), 20):
            assert unicodedata.is_normalized("NFC", cand), cand
