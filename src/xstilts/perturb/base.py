"""The perturbation registry and the shared apply/candidates machinery.

A perturbation lists its *sites* in a text (editable clusters or words), edits ``rate`` of them
(stochastic rounding, so small texts still get edits at the right expected rate) and returns the
edits in original offsets, which makes every output reproducible from ``(text, edits)`` and lets
the QA and stats code map offsets exactly.
"""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from xstilts.perturb.text import Edit, Word, apply_edits, words
from xstilts.registry import Registry

PERTURBATIONS: Registry[type[Perturbation]] = Registry("perturbation")


class RateParams(BaseModel):
    """``rate``: share of eligible sites (clusters for character ops, words for word ops) edited."""

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(0.1, ge=0.0, le=1.0)


def register(name: str, config: type[BaseModel]):
    """Register a Perturbation subclass under ``name`` with its typed parameters."""

    def deco(cls: type[Perturbation]) -> type[Perturbation]:
        cls.name = name
        cls.config = config
        return PERTURBATIONS.register(name, config=config)(cls)

    return deco


def n_edits(rate: float, n_sites: int, rng: random.Random) -> int:
    """Stochastic rounding of ``rate * n_sites`` (always draws once, for stable rng streams)."""
    x = rate * n_sites
    k = int(x) + (rng.random() < x - int(x))
    return min(k, n_sites)


def conflicts(e: Edit, edits: Sequence[Edit]) -> bool:
    """Edits may not touch the same code points (an insertion occupies one slot at its position)."""
    a0, a1 = e.start, max(e.end, e.start + 1)
    return any(a0 < max(o.end, o.start + 1) and o.start < a1 for o in edits)


class Perturbation:
    """Base class: ``apply(text, lang, rng) -> (new_text, edits)``, deterministic given ``rng``."""

    name: ClassVar[str] = ""
    config: ClassVar[type[BaseModel]] = RateParams
    unit: ClassVar[str] = "grapheme"  # "grapheme" or "word": what ``rate`` counts

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.config()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    # -- to implement
    def sites(self, text: str, lang: str) -> list[Any]:
        raise NotImplementedError

    def edit_site(self, text: str, site: Any, lang: str, rng: random.Random) -> Edit | None:
        raise NotImplementedError

    # -- shared
    @property
    def rate(self) -> float:
        return float(getattr(self.params, "rate", 1.0))

    def apply(self, text: str, lang: str, rng: random.Random) -> tuple[str, list[Edit]]:
        sites = self.sites(text, lang)
        k = n_edits(self.rate, len(sites), rng)
        edits: list[Edit] = []
        nfc = unicodedata.is_normalized("NFC", text)
        ws = words(text)
        for i in sorted(rng.sample(range(len(sites)), k)):
            e = _keep_nfc(self.edit_site(text, sites[i], lang, rng), nfc)
            if (
                e is not None
                and e.before != e.after
                and not conflicts(e, edits)
                and not erases_word(text, e, edits, ws)
            ):
                edits.append(e)
        edits.sort(key=lambda e: (e.start, e.end))
        return apply_edits(text, edits), edits

    def candidates(self, word: str, lang: str, rng: random.Random, max_n: int) -> list[str]:
        """Up to ``max_n`` distinct single-edit variants of ``word`` (for adaptive attacks)."""
        sites = self.sites(word, lang)
        out: list[str] = []
        nfc = unicodedata.is_normalized("NFC", word)
        for _ in range(4 * max_n if sites else 0):
            e = _keep_nfc(self.edit_site(word, rng.choice(sites), lang, rng), nfc)
            if e is not None:
                new = apply_edits(word, [e])
                if new != word and new not in out:
                    out.append(new)
                    if len(out) >= max_n:
                        break
        return out


def erases_word(
    text: str, e: Edit, edits: Sequence[Edit], ws: Sequence[Word] | None = None
) -> bool:
    """Whether ``e``, on top of ``edits``, leaves a word of ``text`` without a letter or digit.

    Each deletion keeps its word non-empty on its own; several deletions in one short word (two
    clusters, both deleted) would still erase it, so edits are checked together per word.
    """
    if e.after.strip():
        return False
    for w in words(text) if ws is None else ws:
        if w.start <= e.start and e.end <= w.end:
            inner = [
                dataclasses.replace(o, start=o.start - w.start, end=o.end - w.start)
                for o in [*edits, e]
                if w.start <= o.start and o.end <= w.end
            ]
            return not any(c.isalnum() for c in apply_edits(w.text, inner))
    return False


def _keep_nfc(e: Edit | None, nfc: bool) -> Edit | None:
    """NFC text stays NFC: a keyboard letter such as Devanagari U+095F (YYA, a composition
    exclusion) is written in its normalised form U+092F U+093C, as any real text would hold it."""
    if e is None or not nfc or unicodedata.is_normalized("NFC", e.after):
        return e
    return dataclasses.replace(e, after=unicodedata.normalize("NFC", e.after))


def build(name: str, params: dict[str, Any] | BaseModel | None = None, *, where: str | None = None):
    """``PERTURBATIONS.build`` that also accepts an already validated params model."""
    if isinstance(params, BaseModel):
        return PERTURBATIONS.get(name, where=where).obj(params)
    return PERTURBATIONS.build(name, params or {}, where=where)
