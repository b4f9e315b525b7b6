"""Word-level multilingual adversaries from bilingual dictionaries.

* ``code_mix``: a word of the text (the *matrix* language) becomes its translation into one
  embedded language (Bumblebee, Tan & Joty 2021) or into any of several (PolyGloss). Translations
  come from the MUSE dictionaries (``muse_dicts/dict/en-xx.dict``, lines ``<target> @ <english>``,
  the hunalign reversal) and the WECHSEL Wiktionary dictionaries (``wechsel_dicts/data/<name>.txt``,
  ``english<TAB>target``). Both pair a language with English, so a pair without English pivots
  through it: de -> en -> hi.
* ``dict_synonym``: a word becomes another word of the same language with a shared English
  translation (round trip through the same dictionaries; English round-trips through ``pivot``).

A candidate is kept only if it is one word written in the script its dictionary's target side is
written in (a Latin loanword listed in en-hi is not a Hindi word), in NFC, and not the word itself.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xstilts.errors import ConfigError
from xstilts.perturb.base import Perturbation, register
from xstilts.perturb.lexicons import Lexicon, read_muse, read_tsv_dict
from xstilts.perturb.text import Edit, char_script, words
from xstilts.perturb.word import dictionary_sites, match_word_case

# ISO 639-1 -> the WECHSEL file name (its dictionaries are named by English language name).
WECHSEL_NAMES = {
    "af": "afrikaans", "ar": "arabic", "eu": "basque", "bn": "bengali", "bg": "bulgarian",
    "my": "burmese", "zh": "chinese", "nl": "dutch", "et": "estonian", "fi": "finnish",
    "fr": "french", "ka": "georgian", "de": "german", "ht": "haitian_creole", "he": "hebrew",
    "hi": "hindi", "hu": "hungarian", "id": "indonesian", "it": "italian", "ja": "japanese",
    "jv": "javanese", "kk": "kazakh", "ko": "korean", "lt": "lithuanian", "ms": "malay",
    "ml": "malayalam", "mr": "marathi", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "qu": "quechua", "ro": "romanian", "ru": "russian", "es": "spanish", "sw": "swahili",
    "tl": "tagalog", "ta": "tamil", "te": "telugu", "th": "thai", "tr": "turkish",
    "uk": "ukrainian", "ur": "urdu", "vi": "vietnamese", "yo": "yoruba",
}  # fmt: skip
Source = Literal["muse", "wechsel"]
_CJK = frozenset({"Han", "Hiragana", "Katakana"})


def _dict_dir(explicit: str | None) -> Path:
    from xstilts.paths import data_root

    d = data_root(explicit)
    if d is None:
        raise ConfigError(
            "code_mix/dict_synonym need the dictionaries: set dict_dir (the folder holding "
            "muse_dicts/ and wechsel_dicts/) or XSTILTS_DATA_DIR",
            where="dict_dir",
        )
    return d


@functools.lru_cache(maxsize=128)
def lexicons(lang: str, dict_dir: str, sources: tuple[str, ...]) -> tuple[Lexicon, ...]:
    """The English <-> ``lang`` dictionaries found under ``dict_dir`` (MUSE first)."""
    out = []
    root = Path(dict_dir)
    for src in sources:
        if src == "muse":
            p = root / "muse_dicts" / "dict" / f"en-{lang}.dict"
            if p.is_file():
                out.append(read_muse(p))
        elif lang in WECHSEL_NAMES:
            p = root / "wechsel_dicts" / "data" / f"{WECHSEL_NAMES[lang]}.txt"
            if p.is_file():
                out.append(read_tsv_dict(p))
    return tuple(out)


def _script_of(word: str) -> str:
    scripts = {char_script(c) for c in word if unicodedata.category(c)[0] == "L"}
    if scripts and scripts <= _CJK:
        return "CJK"
    return scripts.pop() if len(scripts) == 1 else ""


@functools.lru_cache(maxsize=128)
def target_script(lang: str, dict_dir: str, sources: tuple[str, ...]) -> str:
    """The script most of the dictionaries' ``lang`` side is written in."""
    counts: Counter[str] = Counter()
    for lex in lexicons(lang, dict_dir, sources):
        for i, w in enumerate(lex.to_english):
            if i >= 5000:
                break
            counts[_script_of(w)] += 1
    counts.pop("", None)
    return counts.most_common(1)[0][0] if counts else ""


class Dictionaries:
    """Word translation between any two languages of the dictionaries (pivot: English)."""

    def __init__(self, dict_dir: str | None, sources: list[str], top_k: int) -> None:
        self.dir = str(_dict_dir(dict_dir))
        self.sources = tuple(sources)
        self.top_k = top_k

    def _lex(self, lang: str) -> tuple[Lexicon, ...]:
        lex = lexicons(lang, self.dir, self.sources)
        if not lex:
            raise ConfigError(
                f"no dictionary pairs English with {lang!r} under {self.dir} "
                f"(muse_dicts/dict/en-{lang}.dict or a wechsel_dicts file)",
                where="languages",
            )
        return lex

    def _side(self, lang: str, word: str, direction: str) -> list[str]:
        out: list[str] = []
        for lex in self._lex(lang):
            table = lex.to_english if direction == "to_english" else lex.from_english
            for t in table.get(word.lower(), [])[: self.top_k]:
                if t not in out:
                    out.append(t)
        return out

    def to_english(self, lang: str, word: str) -> list[str]:
        return [word] if lang == "en" else self._side(lang, word, "to_english")

    def from_english(self, lang: str, word: str) -> list[str]:
        return [word] if lang == "en" else self._side(lang, word, "from_english")

    def translate(self, word: str, src: str, tgt: str) -> list[str]:
        """Translations of ``word`` from ``src`` into ``tgt``, dictionary order, pivoting through
        English when neither side is English; only one-word ``tgt``-script candidates."""
        out: list[str] = []
        for en in self.to_english(src, word)[: self.top_k]:
            for t in self.from_english(tgt, en)[: self.top_k]:
                if t not in out and t.lower() != word.lower() and self.valid(t, tgt):
                    out.append(t)
        return out

    def valid(self, cand: str, lang: str) -> bool:
        """One word, NFC, in the script of ``lang``'s dictionaries."""
        if not cand or any(c.isspace() for c in cand):
            return False
        if not unicodedata.is_normalized("NFC", cand):
            return False
        ws = words(cand)
        if len(ws) < 1 or ws[0].start != 0 or ws[-1].end != len(cand):
            return False
        script = "Latin" if lang == "en" else target_script(lang, self.dir, self.sources)
        return _script_of(cand) == script

    def keys(self, lang: str) -> dict[str, list[str]]:
        """Words of ``lang`` that have an English translation (for dictionary site search)."""
        if lang == "en":
            return {}
        merged: dict[str, list[str]] = {}
        for lex in self._lex(lang):
            for k, v in lex.to_english.items():
                merged.setdefault(k, v)
        return merged


class CodeMixParams(BaseModel):
    """``languages``: the embedded languages (ISO 639-1; ``en`` allowed). One language is
    Bumblebee's setting, several PolyGloss's. ``sources``: dictionaries to read; ``top_k``:
    translations kept per dictionary step (MUSE lists the main sense first); ``dict_dir``: folder
    with ``muse_dicts/`` and ``wechsel_dicts/`` (default ``$XSTILTS_DATA_DIR``); ``rate``: share of
    translatable words replaced when used as a random perturbation."""

    model_config = ConfigDict(extra="forbid")
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    sources: list[Source] = Field(default_factory=lambda: ["muse", "wechsel"], min_length=1)
    top_k: int = Field(2, ge=1)
    dict_dir: str | None = None
    rate: float = Field(0.3, ge=0.0, le=1.0)


class _DictionaryOp(Perturbation):
    unit = "word"

    def __init__(self, params: BaseModel | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.dicts = Dictionaries(p.dict_dir, list(p.sources), p.top_k)

    def options(self, word: str, lang: str) -> list[str]:
        raise NotImplementedError

    def sites(self, text, lang):
        keys = self.dicts.keys(lang) if lang != "en" else None
        spans = (
            dictionary_sites(text, keys)
            if keys is not None
            else [(w.start, w.end) for w in words(text)]
        )
        return [(a, b) for a, b in spans if self.options(text[a:b], lang)]

    def edit_site(self, text, site, lang, rng):
        a, b = site
        word = text[a:b]
        return Edit(
            self.name, a, b, word, match_word_case(word, rng.choice(self.options(word, lang)))
        )

    def candidates(self, word, lang, rng, max_n):
        """Every option in dictionary order (deterministic; ``rng`` unused), at most ``max_n``."""
        return [match_word_case(word, o) for o in self.options(word, lang)][:max_n]


@register("code_mix", CodeMixParams)
class CodeMix(_DictionaryOp):
    """Replace a word by its dictionary translation into an embedded language."""

    def options(self, word: str, lang: str) -> list[str]:
        out: list[str] = []
        per_lang = [self.dicts.translate(word, lang, e) for e in self.params.languages if e != lang]
        for rank in range(max((len(x) for x in per_lang), default=0)):
            out.extend(x[rank] for x in per_lang if rank < len(x) and x[rank] not in out)
        return out


class SynonymParams(BaseModel):
    """``pivot``: the language an English text round-trips through; ``top_k``, ``sources``,
    ``dict_dir`` and ``rate`` as for ``code_mix``."""

    model_config = ConfigDict(extra="forbid")
    pivot: str = "de"
    sources: list[Source] = Field(default_factory=lambda: ["muse", "wechsel"], min_length=1)
    top_k: int = Field(2, ge=1)
    dict_dir: str | None = None
    rate: float = Field(0.3, ge=0.0, le=1.0)


@register("dict_synonym", SynonymParams)
class DictSynonym(_DictionaryOp):
    """Replace a word by a same-language word that shares an English translation (round trip)."""

    def options(self, word: str, lang: str) -> list[str]:
        via = self.params.pivot if lang == "en" else "en"
        out: list[str] = []
        for mid in (
            self.dicts.translate(word, lang, via)
            if via != "en"
            else self.dicts.to_english(lang, word)[: self.params.top_k]
        ):
            for back in self.dicts.translate(mid, via, lang):
                if back.lower() != word.lower() and back not in out:
                    out.append(back)
        return out
