"""Label-preserving perturbation of task examples and whole datasets, seeded per example.

Families and the fields they expose (canonical example dicts):

* ``classification`` / ``regression``: ``text_a``, ``text_b`` (optional)
* ``tagging``: ``tokens`` — every token perturbed on its own; an edit that empties a token or
  changes how it splits on whitespace is reverted, so tags stay aligned
* ``qa``: ``context``, ``question`` — the context is cut at every answer boundary and the pieces
  perturbed independently, so each answer's new offsets are exact and
  ``context[answer_start:answer_start + len(text)] == text`` holds for the perturbed answer text
* ``multiple_choice``: ``context``, ``question``, ``choices`` (each choice on its own)
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from xstilts.errors import ConfigError, DataError
from xstilts.perturb.base import PERTURBATIONS, Perturbation, build
from xstilts.perturb.text import Edit, apply_edits, grapheme_spans, word_units

# Bump when an algorithm changes output for the same (name, params, seed): invalidates cached copies.
PERTURB_VERSION = 2  # 2: deletions never erase a word; Malayalam old-style chillus end a cluster

FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text_a", "text_b"),
    "regression": ("text_a", "text_b"),
    "tagging": ("tokens",),
    "qa": ("context", "question"),
    "multiple_choice": ("context", "question", "choices"),
}


@dataclass
class PerturbRecord:
    """What changed in one example: edits per field key (``text_a``, ``tokens[3]``, ``choices[1]``)."""

    id: str
    edits: dict[str, list[Edit]] = field(default_factory=dict)
    graphemes: int = 0
    words: int = 0
    edited_graphemes: int = 0
    edited_words: int = 0

    @property
    def n_edits(self) -> int:
        return sum(len(v) for v in self.edits.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["edits"] = {k: [e.to_dict() for e in v] for k, v in self.edits.items()}
        return d


# ---------------------------------------------------------------- field access


def _split_key(key: str) -> tuple[str, int | None]:
    if key.endswith("]") and "[" in key:
        name, idx = key[:-1].split("[", 1)
        return name, int(idx)
    return key, None


def get_field(example: dict, key: str) -> str:
    name, idx = _split_key(key)
    return example[name] if idx is None else example[name][idx]


def set_field(example: dict, key: str, value: str) -> None:
    name, idx = _split_key(key)
    if idx is None:
        example[name] = value
    else:
        example[name][idx] = value


def field_keys(example: dict, family: str, fields: Sequence[str] | str | None = None) -> list[str]:
    """Concrete field keys to perturb: lists (tokens, choices) expand to one key per element."""
    if family not in FAMILY_FIELDS:
        raise ConfigError(
            f"unknown task family {family!r}; known: {', '.join(FAMILY_FIELDS)}", where="family"
        )
    allowed = FAMILY_FIELDS[family]
    if isinstance(fields, str):
        fields = [fields]
    wanted = list(fields) if fields is not None else list(allowed)
    for f in wanted:
        if f not in allowed:
            raise ConfigError(
                f"field {f!r} is not perturbable for {family}; use {', '.join(allowed)}",
                where="fields",
            )
    keys = []
    for f in wanted:
        v = example.get(f)
        if isinstance(v, str):
            keys.append(f)
        elif isinstance(v, list):
            keys.extend(f"{f}[{i}]" for i, x in enumerate(v) if isinstance(x, str))
        elif v is not None or fields is not None and f != "text_b":
            raise DataError(
                f"field {f!r} missing or not text", where=f"example {example.get('id')!r}"
            )
    return keys


# ---------------------------------------------------------------- counting


def _count_edited(text: str, edits: Sequence[Edit]) -> tuple[int, int]:
    """(original graphemes touched, word units touched); an insertion counts one grapheme."""
    gs, us = grapheme_spans(text), word_units(text)
    g_hit: set[int] = set()
    u_hit: set[int] = set()
    extra = 0
    for e in edits:
        if e.start == e.end:
            extra += 1
        else:
            g_hit.update(i for i, (a, b) in enumerate(gs) if a < e.end and b > e.start)
        hit = {i for i, (a, b) in enumerate(us) if a < e.end and b > e.start}
        if not hit:  # insertions and gap edits touch the units next to them
            hit = {i for i, (a, b) in enumerate(us) if a <= e.end and b >= e.start}
        u_hit |= hit
    return len(g_hit) + extra, len(u_hit)


def _child(rng: random.Random) -> random.Random:
    return random.Random(rng.getrandbits(64))


# ---------------------------------------------------------------- one example


def perturb_text(
    text: str, perturbation: Perturbation, lang: str, rng: random.Random
) -> tuple[str, list[Edit]]:
    return perturbation.apply(text, lang, rng)


def _perturb_qa_context(
    example: dict, perturbation: Perturbation, lang: str, rng: random.Random
) -> tuple[str, list[Edit], list[dict]]:
    ctx: str = example["context"]
    answers = example.get("answers") or []
    bounds = {0, len(ctx)}
    for a in answers:
        s, t = a["answer_start"], a["text"]
        if ctx[s : s + len(t)] != t:
            raise DataError(
                f"answer {t[:30]!r} not found at offset {s} of the context",
                where=f"example {example.get('id')!r}",
            )
        bounds |= {s, s + len(t)}
    cuts = sorted(bounds)
    new_pos: dict[int, int] = {}
    pieces: list[str] = []
    edits: list[Edit] = []
    length = 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        new_pos[a] = length
        seg, seg_edits = perturbation.apply(ctx[a:b], lang, _child(rng))
        pieces.append(seg)
        length += len(seg)
        edits += [Edit(e.kind, e.start + a, e.end + a, e.before, e.after) for e in seg_edits]
    new_pos[len(ctx)] = length
    new_ctx = "".join(pieces)
    new_answers = []
    for a in answers:
        s, e = new_pos[a["answer_start"]], new_pos[a["answer_start"] + len(a["text"])]
        new_answers.append({**a, "text": new_ctx[s:e], "answer_start": s})
    return new_ctx, edits, new_answers


def perturb_example(
    example: dict,
    family: str,
    perturbation: Perturbation,
    lang: str,
    rng: random.Random,
    fields: Sequence[str] | str | None = None,
) -> tuple[dict, PerturbRecord]:
    """A perturbed deep copy of ``example`` (label untouched) and the record of its edits."""
    new = copy.deepcopy(example)
    rec = PerturbRecord(id=str(example.get("id")))
    for key in field_keys(example, family, fields):
        original = get_field(example, key)
        frng = _child(rng)
        if family == "qa" and key == "context":
            text, edits, answers = _perturb_qa_context(example, perturbation, lang, frng)
            new["answers"] = answers
        else:
            text, edits = perturbation.apply(original, lang, frng)
            if family == "tagging" and (
                not text.strip() or len(text.split()) != len(original.split())
            ):
                text, edits = original, []  # would split/merge/empty the token: keep it
        set_field(new, key, text)
        g, w = len(grapheme_spans(original)), len(word_units(original))
        eg, ew = _count_edited(original, edits)
        rec.graphemes += g
        rec.words += w
        rec.edited_graphemes += eg
        rec.edited_words += ew
        if edits:
            rec.edits[key] = edits
    return new, rec


# ---------------------------------------------------------------- datasets


def _params_model(name: str, params: dict | BaseModel | None) -> BaseModel:
    if isinstance(params, BaseModel):
        return params
    return PERTURBATIONS.params(name, params or {}, where="perturbation")


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def perturbation_key(name: str, params: dict | BaseModel | None, seed: int) -> str:
    """Stable content key of a perturbed copy: name, validated params (defaults filled in), seed,
    algorithm version and, for data-driven perturbations, a digest of the data file."""
    p = _params_model(name, params).model_dump(mode="json")
    payload: dict[str, Any] = {"v": PERTURB_VERSION, "name": name, "params": p, "seed": int(seed)}
    if isinstance(p.get("path"), str):
        payload["data"] = _file_digest(p["path"])
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def perturbation_label(name: str, params: dict | BaseModel | None) -> str:
    """``name@rate`` as the results store and report expect (``char_swap@0.1``)."""
    p = _params_model(name, params)
    rate = getattr(p, "rate", None)
    return f"{name}@{rate:g}" if rate is not None else name


def example_rng(key: str, example_id: Any) -> random.Random:
    """The rng of one example: depends only on (perturbation key, example id), not on order."""
    digest = hashlib.sha256(f"{key}|{example_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class PerturbStats:
    """Dataset-level summary of a perturbation run."""

    key: str
    label: str
    n_examples: int = 0
    n_changed: int = 0
    n_edits: int = 0
    graphemes: int = 0
    edited_graphemes: int = 0
    words: int = 0
    edited_words: int = 0
    edits_by_kind: dict[str, int] = field(default_factory=dict)
    tokenizer_checked: int = 0
    tokenizer_undone: int = 0

    @property
    def grapheme_edit_rate(self) -> float:
        return self.edited_graphemes / self.graphemes if self.graphemes else 0.0

    @property
    def word_edit_rate(self) -> float:
        return self.edited_words / self.words if self.words else 0.0

    @property
    def undone_share(self) -> float | None:
        """Share of edits the tokenizer maps back to the original ids (None: no tokenizer given)."""
        return self.tokenizer_undone / self.tokenizer_checked if self.tokenizer_checked else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            grapheme_edit_rate=self.grapheme_edit_rate,
            word_edit_rate=self.word_edit_rate,
            undone_share=self.undone_share,
        )
        return d


Tokenizer = (
    Any  # HF tokenizer (``encode``), ``tokenizers.Tokenizer`` or ``Callable[[str], list[int]]``
)


def token_ids(tokenizer: Tokenizer | Callable[[str], Sequence[int]], text: str) -> list[int]:
    if hasattr(tokenizer, "encode"):
        try:
            out = tokenizer.encode(text, add_special_tokens=False)
        except TypeError:
            out = tokenizer.encode(text)
        return list(getattr(out, "ids", out))
    return list(tokenizer(text))


def perturb_dataset(
    examples: Iterable[dict],
    family: str,
    perturbation_name: str,
    params: dict | BaseModel | None,
    lang: str,
    seed: int,
    *,
    fields: Sequence[str] | str | None = None,
    tokenizer: Tokenizer | None = None,
) -> tuple[list[dict], PerturbStats]:
    """Perturbed copies of ``examples`` and their stats.

    Each example's rng derives from (seed, perturbation name + params, example id), so the same
    seed yields byte-identical copies regardless of order or batching. With ``tokenizer``, every
    edit is applied alone and counted as *undone* when the token ids equal the original's (e.g. a
    normaliser drops zero-width characters or accents).
    """
    p_model = _params_model(perturbation_name, params)
    perturbation = build(perturbation_name, p_model, where="perturbation")
    key = perturbation_key(perturbation_name, p_model, seed)
    stats = PerturbStats(key=key, label=perturbation_label(perturbation_name, p_model))
    kinds: Counter[str] = Counter()
    out = []
    for i, ex in enumerate(examples):
        if "id" not in ex:
            raise DataError(
                "example without an 'id' (needed for order-independent seeding)",
                where=f"example #{i}",
            )
        new, rec = perturb_example(
            ex, family, perturbation, lang, example_rng(key, ex["id"]), fields
        )
        out.append(new)
        stats.n_examples += 1
        stats.n_changed += bool(rec.n_edits)
        stats.n_edits += rec.n_edits
        stats.graphemes += rec.graphemes
        stats.edited_graphemes += rec.edited_graphemes
        stats.words += rec.words
        stats.edited_words += rec.edited_words
        for fkey, edits in rec.edits.items():
            kinds.update(e.kind for e in edits)
            if tokenizer is None:
                continue
            original = get_field(ex, fkey)
            if family == "qa" and fkey == "context":
                original = ex["context"]
            base = token_ids(tokenizer, original)
            for e in edits:
                stats.tokenizer_checked += 1
                stats.tokenizer_undone += token_ids(tokenizer, apply_edits(original, [e])) == base
    stats.edits_by_kind = dict(sorted(kinds.items()))
    return out, stats


# ---------------------------------------------------------------- display


def _visible(s: str) -> str:
    """Invisible and exotic space characters as ``<U+200B>`` so the rendering shows them."""
    return "".join(
        f"<U+{ord(c):04X}>" if unicodedata.category(c) in ("Cf", "Zs") and c != " " else c
        for c in s
    )


def show_perturbation(text: str, lang: str, name: str, params: dict | None, seed: int) -> str:
    """Human-readable rendering: original, perturbed, the text with ``[before→after]`` marks and
    one line per edit (invisible characters spelled out)."""
    p_model = _params_model(name, params)
    perturbation = build(name, p_model, where="perturbation")
    key = perturbation_key(name, p_model, seed)
    new, edits = perturbation.apply(text, lang, example_rng(key, "show"))
    marked, pos = [], 0
    for e in edits:
        marked.append(text[pos : e.start])
        marked.append(f"[{_visible(e.before)}→{_visible(e.after)}]")
        pos = e.end
    marked.append(text[pos:])
    lines = [
        f"perturbation: {perturbation_label(name, p_model)}  lang={lang}  seed={seed}  key={key}",
        f"original : {text}",
        f"perturbed: {_visible(new)}",
        f"marked   : {''.join(marked)}",
        f"edits ({len(edits)}):",
    ]
    lines += [
        f"  {e.kind:<13} {e.start:>4}:{e.end:<4} {_visible(e.before)!r} → {_visible(e.after)!r}"
        for e in edits
    ]
    return "\n".join(lines)
