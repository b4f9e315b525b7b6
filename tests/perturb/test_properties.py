"""Any input (odd Unicode included): edits reproduce the output and nothing crashes."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from xstilts.perturb import build
from xstilts.perturb.text import apply_edits

NAMES = [
    "char_swap",
    "char_insert",
    "char_delete",
    "char_substitute",
    "keyboard",
    "homoglyph",
    "diacritics",
    "zero_width",
    "whitespace",
]
ALPHABET = st.sampled_from(
    list("ab Zé\u0301\u093f\u094dकषि ไกาเ中文\u200d\u0627\u064e\n\t.,1-") + ["\U0001f600"]
)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(ALPHABET, max_size=40),
    seed=st.integers(0, 10**6),
    lang=st.sampled_from(["de", "hi", "th", "zh", "ar", "xx"]),
)
def test_edits_reproduce_output(text, seed, lang):
    for name in NAMES:
        new, edits = build(name, {"rate": 0.5}).apply(text, lang, random.Random(seed))
        assert apply_edits(text, edits) == new
        assert new == build(name, {"rate": 0.5}).apply(text, lang, random.Random(seed))[0]
