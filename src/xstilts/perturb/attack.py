"""Adaptive black-box attacks: word importance by deletion, then greedy or beam search over
single-word edits drawn from the registered perturbations, under constraints and a query budget.

Words are the script-aware word units of ``text.word_units``: script-homogeneous ``\\w`` runs in
spaced scripts; in Thai/Lao/Khmer/Myanmar fixed chunks of 3 grapheme clusters, in Chinese single
characters and in Japanese kana pairs (no segmenter model needed, documented approximation).

Queries are counted by :class:`QueryCounter` as the number of examples actually sent to the model;
cached predictions (same example content) are free. The search is deterministic for a fixed victim
and seed, and a budget only truncates it, so success can only grow with the budget.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from xstilts.errors import ConfigError
from xstilts.perturb.base import Perturbation, build
from xstilts.perturb.examples import field_keys, get_field, set_field
from xstilts.perturb.text import word_units


class Victim(Protocol):
    def predict_proba(self, examples: list[dict]) -> np.ndarray:  # [n, n_classes]
        ...


Similarity = Callable[[list[str], list[str]], np.ndarray]


def content_key(example: dict) -> str:
    """Cache key: the example's content without its id (the model never sees the id)."""
    return json.dumps(
        {k: v for k, v in example.items() if k != "id"}, sort_keys=True, ensure_ascii=False
    )


class QueryCounter:
    """Wraps a victim: caches predictions by content and counts examples actually sent."""

    def __init__(self, victim: Victim, *, max_batch: int = 64) -> None:
        self.victim = victim
        self.max_batch = max_batch
        self.cache: dict[str, np.ndarray] = {}
        self.queries = 0
        self.calls = 0
        self.cache_hits = 0

    def n_uncached(self, examples: Sequence[dict]) -> int:
        return len({k for k in map(content_key, examples) if k not in self.cache})

    def predict_proba(self, examples: Sequence[dict]) -> np.ndarray:
        keys = [content_key(e) for e in examples]
        todo: dict[str, dict] = {}
        for k, e in zip(keys, examples, strict=True):
            if k not in self.cache and k not in todo:
                todo[k] = e
        items = list(todo.items())
        for i in range(0, len(items), self.max_batch):
            chunk = items[i : i + self.max_batch]
            probs = np.asarray(self.victim.predict_proba([e for _, e in chunk]), dtype=float)
            if probs.ndim != 2 or probs.shape[0] != len(chunk):
                raise ValueError(f"victim returned shape {probs.shape} for {len(chunk)} examples")
            self.calls += 1
            self.queries += len(chunk)
            for (k, _), p in zip(chunk, probs, strict=True):
                self.cache[k] = p
        self.cache_hits += len(keys) - len(items)
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, 0))


class TransformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def _default_transforms() -> list[TransformSpec]:
    return [
        TransformSpec(name=n)
        for n in ("char_swap", "char_substitute", "char_delete", "char_insert", "keyboard")
    ]


class AttackConfig(BaseModel):
    """Constraints, budget and search of an attack; saved next to its results."""

    model_config = ConfigDict(extra="forbid")
    transformations: list[TransformSpec] = Field(default_factory=_default_transforms)
    search: Literal["greedy", "beam"] = "greedy"
    beam_width: int = Field(4, ge=1)  # used by search="beam"
    candidates_per_word: int = Field(8, ge=1)  # per transformation
    max_modification_rate: float = Field(0.3, gt=0.0, le=1.0)  # share of word units edited
    max_edits: int | None = Field(None, ge=1)
    similarity_threshold: float | None = None
    query_budget: int = Field(500, ge=1)  # per example, including the clean query
    importance: Literal["deletion", "none"] = "deletion"
    fields: list[str] | None = None
    seed: int = 0

    @property
    def label(self) -> str:
        return f"attack:{self.search}@{self.max_modification_rate:g}"


@dataclass
class AttackResult:
    id: str
    status: Literal["successful", "failed", "skipped"]
    queries: int
    perturbed: dict
    modification_rate: float
    n_edits: int
    clean_pred: int
    final_pred: int
    clean_prob: float  # probability of the gold label
    final_prob: float
    edits: list[dict] = field(default_factory=list)  # {"field", "before", "after"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rng(*parts: Any) -> random.Random:
    d = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(d[:8], "big"))


class _Units:
    """Word units across the attacked fields; renders an example from unit replacements."""

    def __init__(self, example: dict, keys: list[str]) -> None:
        self.example = example
        self.keys = keys
        self.units = [(k, a, b) for k in keys for a, b in word_units(get_field(example, k))]

    def text(self, i: int) -> str:
        k, a, b = self.units[i]
        return get_field(self.example, k)[a:b]

    def render(self, repl: dict[int, str]) -> dict:
        new = json.loads(json.dumps(self.example))
        by_key: dict[str, list[tuple[int, int, str]]] = {}
        for i, s in repl.items():
            k, a, b = self.units[i]
            by_key.setdefault(k, []).append((a, b, s))
        for k, items in by_key.items():
            t = get_field(self.example, k)
            for a, b, s in sorted(items, reverse=True):
                t = t[:a] + s + t[b:]
            set_field(new, k, t)
        return new

    def joined(self, ex: dict) -> str:
        return "\n".join(get_field(ex, k) for k in self.keys)


def attack_example(
    counter: QueryCounter,
    example: dict,
    family: str,
    lang: str,
    config: AttackConfig,
    transforms: list[Perturbation],
    similarity: Similarity | None = None,
) -> AttackResult:
    start = counter.queries
    label = int(example["label"])

    def left() -> int:
        return config.query_budget - (counter.queries - start)

    def score(cands: list[dict]) -> tuple[list[dict], np.ndarray | None]:
        """Score a prefix of ``cands`` that fits the remaining budget (cache hits are free)."""
        keep, seen, uncached = [], set(), 0
        for c in cands:
            k = content_key(c)
            new = k not in counter.cache and k not in seen
            if new and uncached + 1 > left():
                break
            uncached += new
            seen.add(k)
            keep.append(c)
        return keep, (counter.predict_proba(keep) if keep else None)

    p0 = counter.predict_proba([example])[0]
    clean_pred = int(np.argmax(p0))

    def result(status, ex, repl, n_units, probs) -> AttackResult:
        u_edits = [
            {"field": units.units[i][0], "before": units.text(i), "after": s}
            for i, s in sorted(repl.items())
        ]
        return AttackResult(
            id=str(example.get("id")),
            status=status,
            queries=counter.queries - start,
            perturbed=ex,
            modification_rate=len(repl) / n_units if n_units else 0.0,
            n_edits=len(repl),
            clean_pred=clean_pred,
            final_pred=int(np.argmax(probs)),
            clean_prob=float(p0[label]),
            final_prob=float(probs[label]),
            edits=u_edits,
        )

    units = _Units(example, field_keys(example, family, config.fields))
    n = len(units.units)
    if clean_pred != label:
        return result("skipped", example, {}, n, p0)
    max_mod = math.floor(config.max_modification_rate * n + 1e-9)
    if config.max_edits is not None:
        max_mod = min(max_mod, config.max_edits)
    if n == 0 or max_mod < 1:
        return result("failed", example, {}, n, p0)

    order = list(range(n))
    if config.importance == "deletion":
        scored, probs = score([units.render({i: ""}) for i in range(n)])
        if probs is not None:
            drop = p0[label] - probs[:, label]
            ranked = sorted(range(len(scored)), key=lambda i: (-drop[i], i))
            order = ranked + list(range(len(scored), n))

    width = config.beam_width if config.search == "beam" else 1
    beam: list[tuple[float, dict[int, str], dict, np.ndarray]] = [
        (float(p0[label]), {}, example, p0)
    ]
    original_joined = units.joined(example)
    for i in order:
        if left() <= 0:
            break
        word = units.text(i)
        variants: list[str] = []
        for t in transforms:
            rng = _rng(config.seed, example.get("id"), i, t.name)
            for v in t.candidates(word, lang, rng, config.candidates_per_word):
                if v not in variants and v.strip():
                    variants.append(v)
        cands: list[tuple[dict[int, str], dict]] = []
        for _, repl, _, _ in beam:
            if len(repl) >= max_mod or i in repl:
                continue
            for v in variants:
                r = {**repl, i: v}
                cands.append((r, units.render(r)))
        if cands and similarity is not None and config.similarity_threshold is not None:
            sims = np.asarray(
                similarity([original_joined] * len(cands), [units.joined(c) for _, c in cands])
            )
            cands = [
                c for c, s in zip(cands, sims, strict=True) if s >= config.similarity_threshold
            ]
        if not cands:
            continue
        kept, probs = score([c for _, c in cands])
        if probs is None:
            break
        pool = list(beam)
        best_success = None
        for j, ex in enumerate(kept):
            item = (float(probs[j, label]), cands[j][0], ex, probs[j])
            pool.append(item)
            if int(np.argmax(probs[j])) != label and (
                best_success is None or item[0] < best_success[0]
            ):
                best_success = item
        if best_success is not None:
            return result("successful", best_success[2], best_success[1], n, best_success[3])
        beam = sorted(pool, key=lambda s: s[0])[:width]
    best = beam[0]
    return result("failed", best[2], best[1], n, best[3])


@dataclass
class AttackRun:
    config: AttackConfig
    results: list[AttackResult]
    summary: dict[str, float]
    lang: str = ""
    family: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "label": self.config.label,
            "lang": self.lang,
            "family": self.family,
            "summary": self.summary,
            "results": [r.to_dict() for r in self.results],
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
        )


def summarize_attack(results: Sequence[AttackResult]) -> dict[str, float]:
    """TextAttack-style aggregates.

    accuracy_under_attack = failed / all; attack_success_rate = successful / (successful + failed)
    (skipped excluded); avg_queries over attacked (non-skipped) examples; perturbation_rate = mean
    modification rate of successful attacks.
    """
    n = len(results)
    s = sum(r.status == "successful" for r in results)
    f = sum(r.status == "failed" for r in results)
    attacked = [r for r in results if r.status != "skipped"]
    succ = [r for r in results if r.status == "successful"]
    nan = float("nan")
    return {
        "n": n,
        "successful": s,
        "failed": f,
        "skipped": n - s - f,
        "clean_accuracy": (s + f) / n if n else nan,
        "accuracy_under_attack": f / n if n else nan,
        "attack_success_rate": s / (s + f) if s + f else nan,
        "avg_queries": float(np.mean([r.queries for r in attacked])) if attacked else nan,
        "perturbation_rate": float(np.mean([r.modification_rate for r in succ])) if succ else nan,
    }


def run_attack(
    victim: Victim | QueryCounter,
    examples: Sequence[dict],
    family: str,
    lang: str,
    config: AttackConfig | dict | None = None,
    *,
    similarity: Similarity | None = None,
) -> AttackRun:
    """Attack every example (classification or multiple choice: integer ``label``)."""
    if family not in ("classification", "multiple_choice"):
        raise ConfigError(
            f"attacks need class labels; family {family!r} is not supported", where="family"
        )
    cfg = config if isinstance(config, AttackConfig) else AttackConfig.model_validate(config or {})
    if cfg.similarity_threshold is not None and similarity is None:
        raise ConfigError(
            "similarity_threshold set but no similarity encoder given", where="similarity_threshold"
        )
    transforms = [
        build(t.name, t.params, where=f"transformations[{j}]")
        for j, t in enumerate(cfg.transformations)
    ]
    counter = victim if isinstance(victim, QueryCounter) else QueryCounter(victim)
    results = [
        attack_example(counter, ex, family, lang, cfg, transforms, similarity) for ex in examples
    ]
    return AttackRun(cfg, results, summarize_attack(results), lang=lang, family=family)
