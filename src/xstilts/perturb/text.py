"""Script-aware text primitives: grapheme clusters, scripts, words, alphabets and edits.

Why not ``str.split`` or ``\\w`` on code points: Indic vowel signs and viramas, Thai above/below
vowels and Arabic harakat are separate code points that must stay attached to their base letter,
and Thai/Chinese/Japanese have no spaces. Everything here works on user-perceived characters
(``regex`` ``\\X``) and on Unicode script properties, so edits never produce a lone combining mark
and never mix an ASCII letter into a Devanagari word.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import regex

# Scripts we can name; anything else reports "Other". Common/Inherited = digits, punctuation, marks
# shared between scripts.
SCRIPTS = (
    "Latin Greek Cyrillic Armenian Hebrew Arabic Syriac Thaana Devanagari Bengali Gurmukhi "
    "Gujarati Oriya Tamil Telugu Kannada Malayalam Sinhala Thai Lao Tibetan Myanmar Georgian "
    "Hangul Ethiopic Khmer Mongolian Han Hiragana Katakana Common Inherited"
).split()
_SCRIPT_RE = regex.compile("|".join(f"(?P<{s}>\\p{{sc={s}}})" for s in SCRIPTS))

# Scripts written without spaces between words: "words" there are runs of graphemes, and word
# units (for rates, stats and attack word importance) are fixed-size grapheme chunks.
UNSPACED = frozenset({"Thai", "Lao", "Khmer", "Myanmar", "Tibetan", "Han", "Hiragana", "Katakana"})
# Chunk size in graphemes for unspaced scripts: one ideograph/kana is roughly a morpheme; a Thai,
# Lao, Khmer or Myanmar syllable is typically two to four grapheme clusters.
CHUNK = {"Han": 1, "Hiragana": 2, "Katakana": 2}
DEFAULT_CHUNK = 3

_GRAPHEME = regex.compile(r"\X")
_WORD_CHAR = regex.compile(r"\w")
_BRAHMIC_BASE = regex.compile(r"\p{InSC=Consonant}|\p{InSC=Vowel_Independent}")
_HAS_INSC = regex.compile(
    r"\p{InSC=Consonant}|\p{InSC=Vowel_Independent}|\p{InSC=Vowel_Dependent}"
    r"|\p{InSC=Virama}|\p{InSC=Tone_Mark}"
)


@dataclass(frozen=True)
class Edit:
    """One change: ``text[start:end]`` (offsets in the original string) became ``after``.

    Insertions have ``start == end``; swaps cover both swapped graphemes.
    """

    kind: str
    start: int
    end: int
    before: str
    after: str

    def to_dict(self) -> dict:
        return asdict(self)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits given in original offsets (order does not matter)."""
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError(f"overlapping edits at {e.start}")
        if text[e.start : e.end] != e.before:
            raise ValueError(f"edit 'before' does not match the text at {e.start}")
        out.append(text[pos : e.start])
        out.append(e.after)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)


def grapheme_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _GRAPHEME.finditer(text)]


@functools.lru_cache(maxsize=65536)
def char_script(ch: str) -> str:
    m = _SCRIPT_RE.match(ch)
    return m.lastgroup if m else "Other"  # type: ignore[return-value]


def grapheme_script(g: str) -> str:
    """Script of a grapheme's base (first) code point."""
    return char_script(g[0]) if g else "Common"


def text_script(text: str) -> str:
    """Most frequent specific script among the text's graphemes ("Common" when none)."""
    counts = Counter(s for g in graphemes(text) if (s := grapheme_script(g)) not in _NEUTRAL)
    return counts.most_common(1)[0][0] if counts else "Common"


_NEUTRAL = frozenset({"Common", "Inherited", "Other"})


def is_letter_grapheme(g: str) -> bool:
    """A grapheme whose base is a letter of a specific script (editable by character ops)."""
    return bool(g) and unicodedata.category(g[0])[0] == "L" and grapheme_script(g) not in _NEUTRAL


@dataclass(frozen=True)
class Word:
    """A script-homogeneous run of word graphemes; ``start``/``end`` are string offsets."""

    start: int
    end: int
    text: str
    script: str
    spans: tuple[tuple[int, int], ...]  # editable cluster spans (string offsets), see _clusters

    @property
    def graphemes(self) -> list[str]:
        return [self.text[a - self.start : b - self.start] for a, b in self.spans]


def words(text: str) -> list[Word]:
    """Script-aware words: maximal runs of ``\\w`` graphemes whose specific scripts agree.

    Digits and other Common graphemes join the run they touch; a change of specific script
    (``iPhone手机`` -> ``iPhone`` + ``手机``) starts a new word. Unspaced scripts give whole runs.
    """
    out: list[Word] = []
    cur: list[tuple[int, int]] = []
    cur_script = "Common"

    def flush() -> None:
        nonlocal cur, cur_script
        if cur:
            s, e = cur[0][0], cur[-1][1]
            out.append(Word(s, e, text[s:e], cur_script, tuple(_clusters(text, cur))))
        cur, cur_script = [], "Common"

    for m in _GRAPHEME.finditer(text):
        g = m.group()
        if not _WORD_CHAR.match(g):
            flush()
            continue
        sc = grapheme_script(g)
        if sc not in _NEUTRAL:
            if cur_script not in _NEUTRAL and sc != cur_script:
                flush()
            cur_script = sc
        cur.append(m.span())
    flush()
    return out


def _clusters(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge grapheme clusters that cannot stand alone into editable clusters.

    Unicode grapheme clusters already keep Indic vowel signs, viramas and Arabic harakat with
    their base; but Thai/Lao dependent vowels such as sara aa and sara a are *letters* that form
    their own cluster, and Thai prepended vowels (sara e, sara ai, ...) precede the consonant they
    are pronounced after. Deleting, moving or editing those alone would leave a dependent vowel at
    word start, so they are merged with the cluster they depend on.
    """
    out: list[list[int]] = []
    glue_next = False
    for a, b in _split_chillus(text, spans):
        ch = text[a]
        dependent = (
            bool(out)
            and grapheme_script(ch) not in _NEUTRAL
            and not is_base_letter(ch)
            and not _LOE.match(ch)
        )
        if (dependent or glue_next) and out:
            out[-1][1] = b
        else:
            out.append([a, b])
        glue_next = bool(_LOE.match(ch))
    return [(a, b) for a, b in out]


_LOE = regex.compile(r"\p{LOE}")
# Old-style Malayalam chillu: consonant + virama + ZWJ, a complete letter (the atomic chillus
# U+0D7A-U+0D7F encode the same thing). Unicode 15.1 grapheme rules (GB9c) glue it to the next
# consonant, which made whole syllables (and short words) one cluster; it ends an akshara here.
_CHILLU = regex.compile(r"\p{sc=Malayalam}\u0d4d\u200d")


def _split_chillus(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for a, b in spans:
        cut = a
        for m in _CHILLU.finditer(text, a, b):
            if m.end() < b:
                out.append((cut, m.end()))
                cut = m.end()
        out.append((cut, b))
    return out


def word_units(text: str) -> list[tuple[int, int]]:
    """Spans used as "words" for rates, stats and attacks.

    Spaced scripts: the script-aware words. Unspaced scripts (Thai, Lao, Khmer, Myanmar, Tibetan,
    Chinese, Japanese): fixed chunks of ``CHUNK`` graphemes (1 for Han, 2 for kana, 3 otherwise),
    a dictionary-free stand-in for word segmentation.
    """
    units: list[tuple[int, int]] = []
    for w in words(text):
        if w.script in UNSPACED:
            n = CHUNK.get(w.script, DEFAULT_CHUNK)
            for i in range(0, len(w.spans), n):
                chunk = w.spans[i : i + n]
                units.append((chunk[0][0], chunk[-1][1]))
        else:
            units.append((w.start, w.end))
    return units


# ---------------------------------------------------------------- alphabets


# Letters by category that act as punctuation (Thai/Lao abbreviation signs).
_NOT_BASE = frozenset("\u0e2f\u0eaf")


@functools.lru_cache(maxsize=65536)
def is_base_letter(ch: str) -> bool:
    """A single code point that can stand alone as a grapheme of its script.

    Letters (Lu/Ll/Lo, not modifier letters such as Arabic tatweel), not a grapheme-cluster
    extender or spacing mark, not a Thai/Lao prepended vowel; in Brahmic and Southeast Asian
    scripts only consonants and independent vowels (Thai sara aa is a letter but a dependent vowel).
    """
    if len(ch) != 1 or unicodedata.category(ch) not in ("Lu", "Ll", "Lo") or ch in _NOT_BASE:
        return False
    if regex.match(r"\p{GCB=Extend}|\p{GCB=SpacingMark}|\p{GCB=Prepend}|\p{LOE}", ch):
        return False
    if _HAS_INSC.match(ch):
        return bool(_BRAHMIC_BASE.match(ch))
    return unicodedata.name(ch, "").find("LIGATURE") < 0 and unicodedata.decomposition(ch)[
        :7
    ] not in ("<compat", "<isolat", "<final>", "<initia", "<medial")


# Main Unicode block(s) per script: the fallback alphabet when the language has no keyboard.
_BLOCKS = {
    "Latin": [(0x61, 0x7A), (0x41, 0x5A)],
    "Greek": [(0x391, 0x3A9), (0x3B1, 0x3C9)],
    "Cyrillic": [(0x410, 0x44F)],
    "Armenian": [(0x531, 0x556), (0x561, 0x586)],
    "Hebrew": [(0x5D0, 0x5EA)],
    "Arabic": [(0x621, 0x64A)],
    "Devanagari": [(0x904, 0x939)],
    "Bengali": [(0x985, 0x9B9)],
    "Gurmukhi": [(0xA05, 0xA39)],
    "Gujarati": [(0xA85, 0xAB9)],
    "Oriya": [(0xB05, 0xB39)],
    "Tamil": [(0xB85, 0xBB9)],
    "Telugu": [(0xC05, 0xC39)],
    "Kannada": [(0xC85, 0xCB9)],
    "Malayalam": [(0xD05, 0xD3A)],
    "Sinhala": [(0xD85, 0xDC6)],
    "Thai": [(0xE01, 0xE2E)],
    "Lao": [(0xE81, 0xEAE)],
    "Myanmar": [(0x1000, 0x102A)],
    "Georgian": [(0x10D0, 0x10FA)],
    "Khmer": [(0x1780, 0x17B3)],
    "Ethiopic": [(0x1200, 0x1357)],
    "Hangul": [(0xAC00, 0xD7A3)],
    "Hiragana": [(0x3041, 0x3096)],
    "Katakana": [(0x30A1, 0x30FA)],
    # CJK Unified Ideographs, first 3500 code points: mostly common characters (the block is
    # radical-ordered, not frequency-ordered; a documented approximation).
    "Han": [(0x4E00, 0x4E00 + 3499)],
}


@functools.lru_cache(maxsize=256)
def alphabet(script: str, lang: str | None = None) -> tuple[str, ...]:
    """Base letters used to insert/substitute graphemes in a word of ``script``.

    The language's own keyboard letters (so German gets ä/ö/ü/ß, Vietnamese ơ/ư/đ) when a layout is
    known and covers the script, else the script's main Unicode block; always filtered by
    :func:`is_base_letter`, by script and by NFC stability, so the result is valid in that script.
    """
    letters: set[str] = set()
    if lang:
        from xstilts.perturb.keyboard import layout_letters

        letters = {c for c in layout_letters(lang) if char_script(c) == script}
    if len(letters) < 5:
        letters = {chr(c) for a, b in _BLOCKS.get(script, []) for c in range(a, b + 1)}
    # a composition exclusion (Devanagari U+095F YYA) is two code points in NFC text: leave it out
    return tuple(
        sorted(
            c
            for c in letters
            if char_script(c) == script
            and is_base_letter(c)
            and unicodedata.normalize("NFC", c) == c
        )
    )


def match_case(template: str, ch: str) -> str:
    """``ch`` upper-cased when ``template`` is upper case (only if that stays one code point)."""
    if template[:1].isupper():
        up = ch.upper()
        return up if len(up) == 1 else ch
    if template[:1].islower():
        low = ch.lower()
        return low if len(low) == 1 else ch
    return ch
