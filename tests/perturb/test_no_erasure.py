"""No character perturbation erases a word, in 14 scripts of real Tatoeba text.

Regression: on Malayalam written with old-style chillu letters (consonant + virama + ZWJ),
``char_delete`` erased whole words. Unicode 15.1 grapheme rules glue such a chillu to the next
consonant, so short words had one or two clusters, and two deletions in one word emptied it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import regex

from xstilts.perturb import build
from xstilts.perturb.text import words

# Tatoeba file code -> one language per script (14 scripts)
SCRIPTS = {
    "deu": "de", "rus": "ru", "ell": "el", "ara": "ar", "heb": "he", "hin": "hi", "ben": "bn",
    "tam": "ta", "tel": "te", "mal": "ml", "kat": "ka", "hye": "hy", "tha": "th", "kor": "ko",
}  # fmt: skip
OPS = ["char_delete", "char_swap", "char_insert", "char_substitute", "keyboard", "homoglyph"]
CHILLU = "\u0d4d\u200d"


def _lines(shared: Path, code: str, n: int, need: str | None = None) -> list[str]:
    path = shared / "tatoeba" / f"tatoeba.{code}-eng.{code}"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and (need is None or need in line):
            out.append(line.strip())
        if len(out) >= n:
            break
    return out


def _erased(orig: str, new: str) -> list[str]:
    """Whitespace tokens of ``orig`` that had a letter/digit and whose counterpart has none
    (character ops never split or merge whitespace tokens)."""
    a, b = orig.split(), new.split()
    assert len(a) == len(b), f"token count changed: {orig!r} -> {new!r}"
    has = regex.compile(r"[\p{L}\p{N}]")
    return [x for x, y in zip(a, b, strict=True) if has.search(x) and not has.search(y)]


@pytest.mark.parametrize("code", sorted(SCRIPTS))
def test_no_character_op_erases_a_word(shared_data, code):
    lines = _lines(shared_data, code, 8)
    n = 0
    for op in OPS:
        p = build(op, {"rate": 0.8})
        for i, line in enumerate(lines):
            new, edits = p.apply(line, SCRIPTS[code], random.Random(i))
            n += len(edits)
            assert not _erased(line, new), (op, line, new)
    assert n > 40  # the ops really edited (not vacuous)


def test_malayalam_old_style_chillus(shared_data):
    lines = _lines(shared_data, "mal", 120, need=CHILLU)
    assert len(lines) >= 100
    # a chillu ends an akshara: it is its own cluster, not glued to the next consonant
    w = words("അവള്\u200dക്ക്")[0]
    assert ["അവള്\u200dക്ക്"[a - w.start : b - w.start] for a, b in w.spans] == [
        "അ", "വ", "ള്\u200d", "ക്ക്",
    ]  # fmt: skip
    p = build("char_delete", {"rate": 1.0})
    deletions = 0
    for i, line in enumerate(lines):
        for seed in range(4):
            new, edits = p.apply(line, "ml", random.Random(1000 * i + seed))
            deletions += len(edits)
            assert not _erased(line, new), (line, new)
            for e in edits:  # a deletion never leaves a lone virama/ZWJ behind
                assert not e.before.startswith(("\u0d4d", "\u200d"))
    assert deletions > 500
