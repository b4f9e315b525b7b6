"""Dictionary adversaries on the real MUSE dictionaries (read in place)."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from xstilts.perturb import build
from xstilts.perturb.text import apply_edits, words


def _muse(shared: Path, lang: str) -> tuple[dict, dict]:
    """Read ``en-<lang>.dict`` independently: lines are ``<target> @ <english>`` (reversed)."""
    to_en, from_en = defaultdict(set), defaultdict(set)
    for line in (shared / "muse_dicts" / "dict" / f"en-{lang}.dict").open(encoding="utf-8"):
        xx, en = line.rstrip("\n").split(" @ ")
        to_en[xx.lower()].add(en.lower())
        from_en[en.lower()].add(xx.lower())
    return to_en, from_en


def test_code_mix_pivots_through_english_with_the_reversed_muse_format(shared_data):
    de_en, _ = _muse(shared_data, "de")
    _, en_hi = _muse(shared_data, "hi")
    p = build("code_mix", {"languages": ["hi"], "sources": ["muse"], "dict_dir": str(shared_data)})
    text = "Das Haus ist sehr groß und der Mann ist gut ."
    n = 0
    for w in ("Haus", "groß", "Mann", "gut"):
        cands = p.candidates(w, "de", random.Random(0), 8)
        assert cands, w
        for c in cands:  # a Hindi word whose English is an English of the German word
            assert any(c.lower() in en_hi[en] for en in de_en[w.lower()]), (w, c)
            assert [x.script for x in words(c)] == ["Devanagari"] and " " not in c
            n += 1
    assert n >= 4
    new, edits = p.apply(text, "de", random.Random(3))
    assert edits and apply_edits(text, edits) == new
    for e in edits:
        assert any(e.after.lower() in en_hi[en] for en in de_en[e.before.lower()])


def test_dict_synonyms_share_an_english_translation(shared_data):
    de_en, _ = _muse(shared_data, "de")
    p = build("dict_synonym", {"sources": ["muse"], "dict_dir": str(shared_data)})
    found = 0
    for w in ("Haus", "gut", "schnell", "Auto"):
        for c in p.candidates(w, "de", random.Random(0), 8):
            assert c.lower() != w.lower()
            assert de_en[w.lower()] & de_en[c.lower()], (w, c)
            found += 1
    assert found >= 3
