"""Character-level perturbations on editable clusters, with per-script alphabets.

All operations work on the clusters of script-homogeneous words (see ``text.words``): a swap moves
whole clusters, a deletion removes a whole cluster (never the last one of a word), insertions and
substitutions use base letters of the word's own script (``text.alphabet``), so no lone vowel
sign/virama, no ASCII in a Devanagari word, no Latin letter in a Thai word.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from importlib import resources
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field

from xstilts.errors import ConfigError
from xstilts.perturb import keyboard as kb
from xstilts.perturb.base import Perturbation, RateParams, register
from xstilts.perturb.text import (
    Edit,
    Word,
    alphabet,
    char_script,
    is_base_letter,
    is_letter_grapheme,
    match_case,
    words,
)


class CharParams(RateParams):
    """``skip_first_last``: leave the first and last cluster of each word alone (readability)."""

    skip_first_last: bool = False


class _ClusterOp(Perturbation):
    """Sites are (word, cluster index) pairs of letter clusters in the word's own script."""

    min_clusters: int = 1

    def sites(self, text: str, lang: str) -> list[tuple[Word, int]]:
        out = []
        skip = bool(getattr(self.params, "skip_first_last", False))
        for w in words(text):
            n = len(w.spans)
            if n < self.min_clusters:
                continue
            for i, (a, b) in enumerate(w.spans):
                if skip and (i == 0 or i == n - 1):
                    continue
                g = text[a:b]
                if is_letter_grapheme(g) and char_script(g[0]) == w.script and self.ok(text, w, i):
                    out.append((w, i))
        return out

    def ok(self, text: str, w: Word, i: int) -> bool:
        return True


@register("char_swap", CharParams)
class CharSwap(_ClusterOp):
    """Swap two adjacent clusters of a word."""

    min_clusters = 2

    def ok(self, text: str, w: Word, i: int) -> bool:
        if i + 1 >= len(w.spans):
            return False
        a, b = w.spans[i + 1]
        g = text[a:b]
        return is_letter_grapheme(g) and char_script(g[0]) == w.script

    def edit_site(self, text, site, lang, rng):
        w, i = site
        (a, b), (c, d) = w.spans[i], w.spans[i + 1]
        return Edit("swap", a, d, text[a:d], text[c:d] + text[a:b])


@register("char_delete", CharParams)
class CharDelete(_ClusterOp):
    """Delete one cluster (words keep at least one cluster)."""

    min_clusters = 2

    def edit_site(self, text, site, lang, rng):
        w, i = site
        a, b = w.spans[i]
        return Edit("delete", a, b, text[a:b], "")


@register("char_insert", CharParams)
class CharInsert(_ClusterOp):
    """Insert a base letter of the word's script before or after a cluster."""

    def edit_site(self, text, site, lang, rng):
        w, i = site
        a, b = w.spans[i]
        letters = alphabet(w.script, lang)
        if not letters:
            return None
        ch = match_case(text[a:b], rng.choice(letters))
        pos = a if rng.random() < 0.5 else b
        return Edit("insert", pos, pos, "", ch)


@register("char_substitute", CharParams)
class CharSubstitute(_ClusterOp):
    """Replace a cluster by a different base letter of the word's script."""

    def edit_site(self, text, site, lang, rng):
        w, i = site
        a, b = w.spans[i]
        g = text[a:b]
        letters = [c for c in alphabet(w.script, lang) if c != g and c.lower() != g.lower()]
        if not letters:
            return None
        return Edit("substitute", a, b, g, match_case(g, rng.choice(letters)))


# ---------------------------------------------------------------- keyboard


class KeyboardParams(RateParams):
    """``layout``: xkb layout spec (e.g. ``de``, ``in(deva)``); default: the language's layout."""

    layout: str | None = None


def _same_class(a: str, b: str) -> bool:
    """A keyboard neighbour may replace a code point only if the cluster stays well formed."""
    ca, cb = unicodedata.category(a), unicodedata.category(b)
    if char_script(a) != char_script(b):
        return False
    if ca[0] == "L":
        return cb[0] == "L" and is_base_letter(a) == is_base_letter(b) and is_base_letter(b)
    return ca == cb and ca[0] == "M"


@register("keyboard", KeyboardParams)
class Keyboard(_ClusterOp):
    """Replace one code point of a cluster by a neighbouring key on the language's real layout.

    Neighbours come from the shipped xkb-derived grid; a base letter is replaced only by a base
    letter, a vowel sign only by a vowel sign of the same kind, so Indic and Thai clusters stay
    well formed. Languages typed through an IME (zh, ja, ko) have no layout: no sites.
    """

    def _layout(self, lang: str) -> str | None:
        return kb.layout_for(lang, getattr(self.params, "layout", None))

    def _options(self, g: str, layout: str) -> list[tuple[int, list[str]]]:
        out = []
        for j, ch in enumerate(g):
            nb = [n for n in kb.neighbours(layout, ch) if _same_class(ch, n)]
            if nb:
                out.append((j, nb))
        return out

    def ok(self, text: str, w: Word, i: int) -> bool:
        layout = self._layout(self._lang)
        a, b = w.spans[i]
        return layout is not None and bool(self._options(text[a:b], layout))

    def sites(self, text: str, lang: str) -> list[tuple[Word, int]]:
        self._lang = lang
        return super().sites(text, lang)

    def edit_site(self, text, site, lang, rng):
        w, i = site
        a, b = w.spans[i]
        g = text[a:b]
        layout = self._layout(lang)
        if layout is None:
            return None
        j, nb = rng.choice(self._options(g, layout))
        return Edit("keyboard", a, b, g, g[:j] + rng.choice(nb) + g[j + 1 :])


# ---------------------------------------------------------------- homoglyphs


class HomoglyphParams(RateParams):
    """``mode``: ``cross_script`` (e.g. Latin a -> Cyrillic а, the classic spoof; only scripts of
    widely used languages, no Cherokee/Lisu look-alikes) or ``any`` (also math alphanumerics,
    full-width forms and rare scripts)."""

    mode: Literal["cross_script", "any"] = "cross_script"


@functools.lru_cache(maxsize=1)
def _confusables() -> dict[str, list[str]]:
    try:
        data = (
            resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
        )
    except ModuleNotFoundError:
        raise ConfigError(
            "homoglyph needs the 'confusable_homoglyphs' package (pip install confusable_homoglyphs)",
            where="perturbation.homoglyph",
        ) from None
    raw = json.loads(data)
    out: dict[str, list[str]] = {}
    for ch, entries in raw.items():
        if len(ch) != 1:
            continue
        cands = [
            e["c"]
            for e in entries
            if len(e["c"]) == 1 and unicodedata.category(e["c"])[0] not in "MCZ" and e["c"] != ch
        ]
        if cands:
            out[ch] = cands
    return out


@register("homoglyph", HomoglyphParams)
class Homoglyph(_ClusterOp):
    """Replace a cluster's base letter by a visually confusable character (Unicode confusables).

    By design the replacement may belong to another script (that is the attack); combining marks of
    the cluster are kept.
    """

    def _cands(self, ch: str) -> list[str]:
        cands = _confusables().get(ch, [])
        if self.params.mode == "cross_script":
            sc = char_script(ch)
            cands = [c for c in cands if char_script(c) not in (sc, "Common", "Inherited", "Other")]
        return cands

    def ok(self, text: str, w: Word, i: int) -> bool:
        return bool(self._cands(text[w.spans[i][0]]))

    def edit_site(self, text, site, lang, rng):
        w, i = site
        a, b = w.spans[i]
        g = text[a:b]
        return Edit("homoglyph", a, b, g, rng.choice(self._cands(g[0])) + g[1:])


# ---------------------------------------------------------------- diacritics

StripScript = Literal["Latin", "Greek", "Cyrillic", "Arabic", "Hebrew"]


class DiacriticParams(BaseModel):
    """``rate``: share of words with diacritics that are stripped (whole word, as people type).

    ``scripts``: where stripping keeps text readable. Latin (incl. Vietnamese tones, Turkish ç/ş,
    German umlauts -> base vowel, ł/đ -> l/d), Greek tonos/dialytika, Cyrillic ё -> е only,
    Arabic harakat, Hebrew niqqud. Indic and Thai vowel signs are never touched (not diacritics;
    they are not even offered). ``cyrillic_short_i`` also maps й -> и: off by default because й is a
    separate letter and the change can alter the word (мой 'my' -> мои 'my (pl.)').
    """

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(1.0, ge=0.0, le=1.0)
    scripts: list[StripScript] = Field(
        default_factory=lambda: ["Latin", "Greek", "Cyrillic", "Arabic", "Hebrew"]
    )
    cyrillic_short_i: bool = False


_LATIN_GREEK_MARKS = regex.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]")
_ARABIC_MARKS = regex.compile(r"[\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_HEBREW_MARKS = regex.compile(r"[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
_STROKES = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H"})


def strip_diacritics(word: str, scripts: set[str], short_i: bool = False) -> str:
    out = []
    for ch in word:
        sc = char_script(ch)
        if sc == "Inherited" and out:
            out.append(ch)  # marks handled with the whole word below
            continue
        if sc in ("Latin", "Greek") and sc in scripts:
            base = _LATIN_GREEK_MARKS.sub("", unicodedata.normalize("NFD", ch))
            out.append(unicodedata.normalize("NFC", base).translate(_STROKES))
        elif sc == "Cyrillic" and sc in scripts:
            m = {"ё": "е", "Ё": "Е"}
            if short_i:
                m.update({"й": "и", "Й": "И"})
            out.append(m.get(ch, ch))
        else:
            out.append(ch)
    res = "".join(out)
    base_script = next(
        (char_script(c) for c in res if char_script(c) not in ("Common", "Inherited")), ""
    )
    if base_script in ("Latin", "Greek") and base_script in scripts:
        res = unicodedata.normalize(
            "NFC", _LATIN_GREEK_MARKS.sub("", unicodedata.normalize("NFD", res))
        )
    elif base_script == "Cyrillic" and "Cyrillic" in scripts:
        res = regex.sub(r"([еЕ])\u0308", r"\1", res)
        if short_i:
            res = regex.sub(r"([иИ])\u0306", r"\1", res)
    elif base_script == "Arabic" and "Arabic" in scripts:
        res = _ARABIC_MARKS.sub("", res)
    elif base_script == "Hebrew" and "Hebrew" in scripts:
        res = _HEBREW_MARKS.sub("", res)
    return res


@register("diacritics", DiacriticParams)
class Diacritics(Perturbation):
    """Strip diacritics from whole words where that keeps text readable (see params)."""

    unit = "word"

    def sites(self, text, lang):
        scripts = set(self.params.scripts)
        out = []
        for w in words(text):
            if w.script in scripts:
                new = strip_diacritics(w.text, scripts, self.params.cyrillic_short_i)
                if new != w.text:
                    out.append((w, new))
        return out

    def edit_site(self, text, site, lang, rng):
        w, new = site
        return Edit("diacritics", w.start, w.end, w.text, new)


# ---------------------------------------------------------------- invisible / whitespace noise

ZeroWidth = Literal["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


class ZeroWidthParams(BaseModel):
    """``rate``: share of words (of 2+ clusters) that get one invisible character inside.

    ``chars``: ZWSP U+200B, ZWNJ U+200C, ZWJ U+200D, WORD JOINER U+2060, BOM U+FEFF, SOFT HYPHEN
    U+00AD. Inserted only between clusters, never inside one.
    """

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(0.1, ge=0.0, le=1.0)
    chars: list[ZeroWidth] = Field(default_factory=lambda: ["\u200b", "\u200c", "\u200d", "\u2060"])


@register("zero_width", ZeroWidthParams)
class ZeroWidthInsert(Perturbation):
    """Insert an invisible character between two clusters of a word."""

    unit = "word"

    def sites(self, text, lang):
        return [w for w in words(text) if len(w.spans) >= 2]

    def edit_site(self, text, w, lang, rng):
        pos = w.spans[rng.randrange(1, len(w.spans))][0]
        return Edit("zero_width", pos, pos, "", rng.choice(self.params.chars))


WhitespaceOp = Literal["split", "merge", "double", "unicode_space"]
_UNICODE_SPACES = ("\u00a0", "\u2002", "\u2003", "\u2009", "\u3000")


class WhitespaceParams(BaseModel):
    """``rate``: share of words affected; ``ops``: split a word, merge with the next word, double
    the following space, or replace it by a Unicode space (NBSP, en/em/thin, ideographic)."""

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(0.1, ge=0.0, le=1.0)
    ops: list[WhitespaceOp] = Field(
        default_factory=lambda: ["split", "merge", "double", "unicode_space"]
    )


@register("whitespace", WhitespaceParams)
class Whitespace(Perturbation):
    """Whitespace noise: split words, merge words, doubled or exotic spaces."""

    unit = "word"

    def sites(self, text, lang):
        ws = words(text)
        out = []
        for k, w in enumerate(ws):
            gap = None
            if k + 1 < len(ws):
                g0, g1 = w.end, ws[k + 1].start
                if g1 > g0 and text[g0:g1].isspace():
                    gap = (g0, g1)
            ops = [
                op
                for op in self.params.ops
                if (op == "split" and len(w.spans) >= 2) or (op != "split" and gap is not None)
            ]
            if ops:
                out.append((w, gap, ops))
        return out

    def edit_site(self, text, site, lang, rng):
        w, gap, ops = site
        op = rng.choice(ops)
        if op == "split":
            pos = w.spans[rng.randrange(1, len(w.spans))][0]
            return Edit("split", pos, pos, "", " ")
        g0, g1 = gap
        if op == "merge":
            return Edit("merge", g0, g1, text[g0:g1], "")
        if op == "double":
            return Edit("double", g0, g1, text[g0:g1], text[g0:g1] + " ")
        return Edit("unicode_space", g0, g1, text[g0:g1], rng.choice(_UNICODE_SPACES))
