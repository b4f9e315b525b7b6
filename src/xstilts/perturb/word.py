"""Word-level perturbations from user data: real typos replayed, dictionary code-switching,
and phrase-level code-mixing from a parallel translation."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field

from xstilts.perturb.base import Perturbation, register
from xstilts.perturb.lexicons import (
    Lexicon,
    TypoTable,
    read_hunspell_rep,
    read_muse,
    read_tsv_dict,
    read_typo_pairs,
    read_viwiki,
)
from xstilts.perturb.text import UNSPACED, Edit, word_units, words


def match_word_case(template: str, new: str) -> str:
    """Carry the capitalisation pattern of ``template`` (lower, Title, UPPER) over to ``new``."""
    if len(template) > 1 and template.isupper():
        return new.upper()
    if template[:1].isupper():
        return new[:1].upper() + new[1:]
    if template[:1].islower() and new[1:2].islower():
        return new[:1].lower() + new[1:]  # a capitalised list entry used for a lower-case word
    return new


def dictionary_sites(
    text: str, keys: dict[str, list[str]], max_len: int = 8
) -> list[tuple[int, int]]:
    """Spans of ``text`` whose lower-cased form is a key.

    Spaced scripts: whole script-aware words. Unspaced scripts (Chinese, Japanese, Thai, ...):
    forward maximum matching over clusters against the dictionary, a standard dictionary-based
    segmentation that needs no model.
    """
    out = []
    for w in words(text):
        if w.script not in UNSPACED:
            if w.text.lower() in keys:
                out.append((w.start, w.end))
            continue
        i, n = 0, len(w.spans)
        while i < n:
            for j in range(min(n, i + max_len), i, -1):
                a, b = w.spans[i][0], w.spans[j - 1][1]
                if text[a:b].lower() in keys:
                    out.append((a, b))
                    i = j
                    break
            else:
                i += 1
    return out


class TypoReplayParams(BaseModel):
    """``path``: user typo data; ``format``: ``pairs`` (``typo;correct`` lines), ``viwiki`` (JSON
    lines with annotated mistakes), ``hunspell`` (``REP`` rules of an ``.aff``), or ``auto`` (by
    suffix: .json/.jsonl -> viwiki, .aff -> hunspell, else pairs). ``rate``: share of the words
    that have a known typo which are replaced."""

    model_config = ConfigDict(extra="forbid")
    path: str
    format: Literal["auto", "pairs", "viwiki", "hunspell"] = "auto"
    rate: float = Field(0.5, ge=0.0, le=1.0)


def load_typos(path: str, fmt: str = "auto") -> TypoTable:
    if fmt == "auto":
        suffix = Path(path).suffix.lower()
        fmt = {".json": "viwiki", ".jsonl": "viwiki", ".aff": "hunspell"}.get(suffix, "pairs")
    reader = {"pairs": read_typo_pairs, "viwiki": read_viwiki, "hunspell": read_hunspell_rep}[fmt]
    return reader(path)


@register("typo_replay", TypoReplayParams)
class TypoReplay(Perturbation):
    """Replace words by misspellings observed in real corpora (or by hunspell REP rules)."""

    unit = "word"

    def __init__(self, params: BaseModel | None = None) -> None:
        super().__init__(params)
        self.table = load_typos(self.params.path, self.params.format)

    def sites(self, text, lang):
        if self.table.words:
            return dictionary_sites(text, self.table.words)
        out = []
        for w in words(text):
            opts = self._rep_options(w.text)
            if opts:
                out.append((w.start, w.end))
        return out

    def _rep_options(self, word: str) -> list[tuple[int, int, str]]:
        opts = []
        for typo_side, correct_side in self.table.rep:
            pat = correct_side.strip("^$")
            if not pat:
                continue
            for m in regex.finditer(regex.escape(pat), word):
                if correct_side.startswith("^") and m.start() != 0:
                    continue
                if correct_side.endswith("$") and m.end() != len(word):
                    continue
                opts.append((m.start(), m.end(), typo_side.strip("^$")))
        return opts

    def edit_site(self, text, site, lang, rng):
        a, b = site
        word = text[a:b]
        if self.table.words:
            typo = match_word_case(word, rng.choice(self.table.words[word.lower()]))
        else:
            s, e, rep = rng.choice(self._rep_options(word))
            typo = word[:s] + rep + word[e:]
        if not typo or typo == word:
            return None
        return Edit("typo", a, b, word, typo)


class CodeSwitchParams(BaseModel):
    """``path``: bilingual dictionary; ``format``: ``muse`` (``<target> @ <english>`` lines, the
    hunalign reformatting), ``tsv`` (``english<TAB>target``, WECHSEL) or ``auto`` (.dict -> muse);
    ``direction``: ``to_english`` replaces words of a non-English text by English translations,
    ``from_english`` replaces English words by the other language's; ``rate``: share of the
    translatable words replaced; ``top_k``: choose among the first k listed translations (MUSE
    and Wiktionary list the main sense first; 1 keeps the meaning, hence the label, safest)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    format: Literal["auto", "muse", "tsv"] = "auto"
    direction: Literal["to_english", "from_english"] = "to_english"
    rate: float = Field(0.3, ge=0.0, le=1.0)
    top_k: int = Field(1, ge=1)


def load_lexicon(path: str, fmt: str = "auto") -> Lexicon:
    if fmt == "auto":
        fmt = "muse" if Path(path).suffix.lower() == ".dict" else "tsv"
    return read_muse(path) if fmt == "muse" else read_tsv_dict(path)


@register("code_switch", CodeSwitchParams)
class CodeSwitch(Perturbation):
    """Replace words by their dictionary translation (word-level code-switching)."""

    unit = "word"

    def __init__(self, params: BaseModel | None = None) -> None:
        super().__init__(params)
        lex = load_lexicon(self.params.path, self.params.format)
        self.table = lex.to_english if self.params.direction == "to_english" else lex.from_english

    def sites(self, text, lang):
        return dictionary_sites(text, self.table)

    def edit_site(self, text, site, lang, rng):
        a, b = site
        word = text[a:b]
        new = match_word_case(word, rng.choice(self.table[word.lower()][: self.params.top_k]))
        # A translation with spaces inside unspaced text, or glued to neighbours, needs spaces.
        if a > 0 and not text[a - 1].isspace() and _spaced(new):
            new = " " + new
        if b < len(text) and not text[b].isspace() and _spaced(new):
            new = new + " "
        return Edit("code_switch", a, b, word, new)


def _spaced(s: str) -> bool:
    ws = words(s)
    return bool(ws) and ws[0].script not in UNSPACED


def code_mix_parallel(
    text: str,
    parallel: str,
    rng: random.Random,
    *,
    mode: Literal["half", "phrase"] = "half",
    rate: float = 0.3,
) -> tuple[str, list[Edit]]:
    """Replace a contiguous part of ``text`` by the corresponding part of its translation.

    Without word alignments the correspondence is positional: ``half`` swaps in the first or the
    second half (chosen at random) of the translation's word units; ``phrase`` replaces a span of
    ``rate`` of the text's word units at a random position by the proportionally placed span of
    the translation (a standard approximation for sentence-level code-mixing; it keeps the label
    because both sides say the same thing).
    """
    tu, pu = word_units(text), word_units(parallel)
    if not tu or not pu:
        return text, []
    n, m = len(tu), len(pu)
    if mode == "half":
        first = rng.random() < 0.5
        i0, i1 = (0, max(1, n // 2)) if first else (n // 2, n)
        j0, j1 = (0, max(1, m // 2)) if first else (m // 2, m)
    else:
        k = max(1, round(rate * n))
        i0 = rng.randrange(0, n - k + 1)
        i1 = i0 + k
        j0 = min(m - 1, (i0 * m) // n)
        j1 = max(j0 + 1, min(m, round(i1 * m / n)))
    a, b = tu[i0][0], tu[i1 - 1][1]
    mid = parallel[pu[j0][0] : pu[j1 - 1][1]]
    if _spaced(mid) or _spaced(text):
        if a > 0 and not text[a - 1].isspace():
            mid = " " + mid
        if b < len(text) and not text[b].isspace() and text[b].isalnum():
            mid = mid + " "
    edit = Edit("code_mix", a, b, text[a:b], mid)
    return text[:a] + mid + text[b:], [edit]
