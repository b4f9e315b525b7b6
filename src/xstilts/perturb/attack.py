"""Adaptive black-box attacks for every task family: word importance, then greedy or beam search
over single-word edits drawn from the registered perturbations, under constraints and a budget.

What counts as success comes from the task family's goal (``Family.attack_goal``, see
``perturb/goals.py``); the search here never asks which family it attacks. Words are the
script-aware word units of ``text.word_units``.

Cost: a query is one example actually run through the model (:class:`QueryCounter`; a repeat of
the same content is a free cache hit). Examples are searched side by side and their candidates
sent in shared batches; an example stops at its first success; word importance comes from one
gradient pass (``importance="gradient"``, when the victim offers it) instead of one deletion query
per word. The search is deterministic for a fixed victim and seed, and a budget only truncates
it, so success can only grow with the budget.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xstilts.errors import ConfigError
from xstilts.perturb.base import Perturbation, build
from xstilts.perturb.examples import get_field, set_field
from xstilts.perturb.goals import AttackGoal, LabelFlip
from xstilts.perturb.text import word_units


class Victim(Protocol):
    """``predict(examples) -> one output per example`` (what the goal's ``decode`` returns);
    classifiers may offer ``predict_proba`` instead. Optional: ``importance(examples, units,
    goal) -> list[np.ndarray]`` (one forward and backward pass per example)."""

    def predict(self, examples: list[dict]) -> list[Any]: ...


Similarity = Callable[[list[str], list[str]], np.ndarray]


def content_key(example: dict) -> str:
    """Cache key: the example's content without its id (the model never sees the id)."""
    return json.dumps(
        {k: v for k, v in example.items() if k != "id"}, sort_keys=True, ensure_ascii=False
    )


class QueryCounter:
    """Wraps a victim: caches outputs by content and counts examples actually sent."""

    def __init__(self, victim: Any, *, max_batch: int = 64) -> None:
        self.victim = victim
        self.max_batch = max_batch
        self.cache: dict[Any, Any] = {}
        self.queries = 0
        self.calls = 0
        self.cache_hits = 0
        self._model_keys: dict[str, Any] = {}

    def keys(self, examples: Sequence[dict]) -> list[Any]:
        """Cache keys: what the model sees (``victim.input_keys``: candidate pruning, two texts
        the tokenizer maps to the same features cost one query), else the content."""
        ck = [content_key(e) for e in examples]
        fn = getattr(self.victim, "input_keys", None)
        if fn is None:
            return ck
        todo = list({k: i for i, k in enumerate(ck) if k not in self._model_keys}.values())
        if todo:
            mks = fn([examples[i] for i in todo])
            self._model_keys.update((ck[i], mk) for i, mk in zip(todo, mks, strict=True))
        return [self._model_keys[k] for k in ck]

    def _run(self, examples: list[dict]) -> list[Any]:
        if hasattr(self.victim, "predict"):
            return list(self.victim.predict(examples))
        probs = np.asarray(self.victim.predict_proba(examples), dtype=float)
        if probs.ndim != 2:
            raise ValueError(f"victim returned shape {probs.shape} for {len(examples)} examples")
        return list(probs)

    def n_uncached(self, examples: Sequence[dict]) -> int:
        return len({k for k in self.keys(examples) if k not in self.cache})

    def predict(self, examples: Sequence[dict]) -> list[Any]:
        keys = self.keys(examples)
        todo: dict[Any, dict] = {}
        for k, e in zip(keys, examples, strict=True):
            if k not in self.cache and k not in todo:
                todo[k] = e
        items = list(todo.items())
        for i in range(0, len(items), self.max_batch):
            chunk = items[i : i + self.max_batch]
            outs = self._run([e for _, e in chunk])
            if len(outs) != len(chunk):
                raise ValueError(f"victim returned {len(outs)} outputs for {len(chunk)} examples")
            self.calls += 1
            self.queries += len(chunk)
            for (k, _), o in zip(chunk, outs, strict=True):
                self.cache[k] = o
        self.cache_hits += len(keys) - len(items)
        return [self.cache[k] for k in keys]

    def predict_proba(self, examples: Sequence[dict]) -> np.ndarray:
        outs = self.predict(examples)
        return np.stack(outs) if outs else np.zeros((0, 0))


class TransformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def _default_transforms() -> list[TransformSpec]:
    return [
        TransformSpec(name=n)
        for n in ("char_swap", "char_substitute", "char_delete", "char_insert", "keyboard")
    ]


class SimilarityConstraint(BaseModel):
    """Label preservation: cosine similarity of the original and the adversarial text (the
    attacked fields joined) under a separate sentence encoder, at least ``threshold``."""

    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.8, ge=-1.0, le=1.0)
    encoder: str = "offline"  # a model name as ``resolve_model`` takes it


class AttackConfig(BaseModel):
    """Goal, constraints, budget and search of an attack; saved next to its results."""

    model_config = ConfigDict(extra="forbid")
    transformations: list[TransformSpec] = Field(default_factory=_default_transforms)
    search: Literal["greedy", "beam"] = "greedy"
    beam_width: int = Field(4, ge=1)  # used by search="beam"
    candidates_per_word: int = Field(8, ge=1)  # per transformation
    max_modification_rate: float = Field(0.3, gt=0.0, le=1.0)  # share of word units edited
    max_edits: int | None = Field(None, ge=1)
    similarity: SimilarityConstraint | None = None
    query_budget: int = Field(500, ge=1)  # per example, including the clean query
    importance: Literal["gradient", "deletion", "none"] = "deletion"
    # the family goal's parameters, or per family ({tagging: {...}, qa: {...}}) for a config
    # whose targets mix families
    goal: dict[str, Any] = Field(default_factory=dict)
    fields: list[str] | None = None
    parallel: int = Field(32, ge=1)  # examples searched side by side (shared batches)
    seed: int = 0

    @property
    def label(self) -> str:
        return f"attack:{self.search}@{self.max_modification_rate:g}"

    def constraint(self) -> dict[str, Any]:
        """The constraints a success rate holds under (stated next to it in every row)."""
        return {
            "transformations": [t.name for t in self.transformations],
            "search": self.search,
            "query_budget": self.query_budget,
            "max_modification_rate": self.max_modification_rate,
            "max_edits": self.max_edits,
            "similarity": self.similarity.model_dump() if self.similarity else None,
            "fields": self.fields,
            "goal": self.goal,
        }


@dataclass
class AttackResult:
    id: str
    status: Literal["successful", "failed", "skipped"]
    queries: int
    perturbed: dict
    modification_rate: float
    n_edits: int
    clean_value: float  # the goal's per-example score (accuracy 0/1, token accuracy, F1, hit@k)
    final_value: float
    clean_objective: float  # what the search lowered (gold-label probability, ...)
    final_objective: float
    edits: list[dict] = field(default_factory=list)  # {"field", "before", "after"}
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rng(*parts: Any) -> random.Random:
    d = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(d[:8], "big"))


class Units:
    """Editable word units across the attacked fields; renders an example from replacements."""

    def __init__(self, example: dict, keys: list[str], goal: AttackGoal) -> None:
        self.example = example
        self.keys = keys
        self.goal = goal
        self.units = []
        for k in keys:
            frozen = goal.frozen(example, k)
            for a, b in word_units(get_field(example, k)):
                if not any(a < f1 and f0 < b for f0, f1 in frozen):
                    self.units.append((k, a, b))
        self.n_words = sum(len(word_units(get_field(example, k))) for k in keys)

    def text(self, i: int) -> str:
        k, a, b = self.units[i]
        return get_field(self.example, k)[a:b]

    def render(self, repl: dict[int, str]) -> dict | None:
        """The edited example, or None when the goal rejects an edited field."""
        new = json.loads(json.dumps(self.example))
        by_key: dict[str, list[tuple[int, int, str]]] = {}
        for i, s in repl.items():
            k, a, b = self.units[i]
            by_key.setdefault(k, []).append((a, b, s))
        for k, items in by_key.items():
            before = t = get_field(self.example, k)
            for a, b, s in sorted(items, reverse=True):
                t = t[:a] + s + t[b:]
            if not self.goal.valid(k, before, t):
                return None
            set_field(new, k, t)
        self.goal.remap(self.example, new, by_key)
        return new

    def joined(self, ex: dict) -> str:
        return "\n".join(get_field(ex, k) for k in self.keys)


def field_keys(example: dict, goal: AttackGoal, fields: Sequence[str] | None) -> list[str]:
    """Concrete keys of the attacked fields: lists (tokens, choices) give one key per element."""
    keys = []
    for f in fields or goal.default_fields or goal.fields:
        v = example.get(f)
        if isinstance(v, str):
            keys.append(f)
        elif isinstance(v, list):
            keys.extend(f"{f}[{i}]" for i, x in enumerate(v) if isinstance(x, str))
    return keys


Request = list[dict]


@dataclass
class _State:
    """One example's search: a generator yielding candidate batches, and its bookkeeping."""

    example: dict
    gen: Generator[Request, list[Any], AttackResult] | None = None
    queries: int = 0
    request: Request | None = None
    result: AttackResult | None = None


class Attack:
    """One configured attack: goal, transformations, constraints and the shared query counter."""

    def __init__(
        self,
        counter: QueryCounter,
        goal: AttackGoal,
        lang: str,
        config: AttackConfig,
        transforms: list[Perturbation],
        similarity: Similarity | None,
    ) -> None:
        self.counter, self.goal, self.lang, self.cfg = counter, goal, lang, config
        self.transforms, self.similarity = transforms, similarity
        self._sim_cache: dict[tuple[str, str], float] = {}

    def sims(self, a: list[str], b: list[str]) -> list[float]:
        todo = [(x, y) for x, y in zip(a, b, strict=True) if (x, y) not in self._sim_cache]
        todo = list(dict.fromkeys(todo))
        if todo and self.similarity is not None:
            vals = np.asarray(self.similarity([x for x, _ in todo], [y for _, y in todo]))
            self._sim_cache.update(zip(todo, map(float, vals), strict=True))
        return [self._sim_cache[(x, y)] for x, y in zip(a, b, strict=True)]

    def fit(self, st: _State, cands: list[dict]) -> list[dict]:
        """The prefix of ``cands`` whose new queries fit the example's remaining budget."""
        left = self.cfg.query_budget - st.queries
        keep, seen, new = [], set(), 0
        for c, k in zip(cands, self.counter.keys(cands), strict=True):
            fresh = k not in self.counter.cache and k not in seen
            if fresh and new + 1 > left:
                break
            new += fresh
            seen.add(k)
            keep.append(c)
        return keep

    def search(
        self, st: _State, clean: Any, importance: np.ndarray | None
    ) -> Generator[Request, list[Any], AttackResult]:
        cfg, goal, ex = self.cfg, self.goal, st.example
        units = Units(ex, field_keys(ex, goal, cfg.fields), goal)
        n = len(units.units)
        original_joined = units.joined(ex)

        def result(status: str, new: dict, repl: dict[int, str], out: Any, sim=None):
            return AttackResult(
                id=str(ex.get("id")),
                status=status,  # type: ignore[arg-type]
                queries=st.queries,
                perturbed=new,
                modification_rate=len(repl) / units.n_words if units.n_words else 0.0,
                n_edits=len(repl),
                clean_value=goal.value(ex, clean, clean),
                final_value=goal.value(ex, out, clean),
                clean_objective=goal.objective(ex, clean, clean),
                final_objective=goal.objective(ex, out, clean),
                edits=[
                    {"field": units.units[i][0], "before": units.text(i), "after": s}
                    for i, s in sorted(repl.items())
                ],
                similarity=sim,
            )

        if goal.skip(ex, clean):
            return result("skipped", ex, {}, clean)
        max_mod = math.floor(cfg.max_modification_rate * units.n_words + 1e-9)
        if cfg.max_edits is not None:
            max_mod = min(max_mod, cfg.max_edits)
        if n == 0 or max_mod < 1:
            return result("failed", ex, {}, clean)

        order = list(range(n))
        if importance is not None:
            order = sorted(range(n), key=lambda i: (-float(importance[i]), i))
        elif cfg.importance == "deletion":
            dels = [(i, units.render({i: ""})) for i in range(n)]
            dels = [(i, d) for i, d in dels if d is not None]
            kept = self.fit(st, [d for _, d in dels])
            if kept:
                outs = yield kept
                drop = {
                    i: goal.objective(ex, clean, clean) - goal.objective(ex, o, clean)
                    for (i, _), o in zip(dels, outs, strict=False)
                }
                order = sorted(drop, key=lambda i: (-drop[i], i)) + [
                    i for i in range(n) if i not in drop
                ]

        width = cfg.beam_width if cfg.search == "beam" else 1
        beam: list[tuple[float, dict[int, str], dict, Any]] = [
            (goal.objective(ex, clean, clean), {}, ex, clean)
        ]
        for i in order:
            if st.queries >= cfg.query_budget:
                break
            word = units.text(i)
            variants: list[str] = []
            for t in self.transforms:
                rng = _rng(cfg.seed, ex.get("id"), i, t.name)
                for v in t.candidates(word, self.lang, rng, cfg.candidates_per_word):
                    if v not in variants and v.strip() and v != word:
                        variants.append(v)
            cands: list[tuple[dict[int, str], dict]] = []
            seen: set[str] = set()
            for _, repl, _, _ in beam:
                if len(repl) >= max_mod or i in repl:
                    continue
                for v in variants:
                    r = {**repl, i: v}
                    c = units.render(r)
                    if c is None:
                        continue
                    k = content_key(c)
                    if k not in seen:  # two beams reaching the same text: one candidate
                        seen.add(k)
                        cands.append((r, c))
            if not cands:
                continue
            kept = self.fit(st, [c for _, c in cands])
            if not kept:
                break
            outs = yield kept
            scored = sorted(
                (
                    (goal.objective(ex, o, clean), j, goal.success(ex, o, clean))
                    for j, o in enumerate(outs)
                ),
                key=lambda s: (not s[2], s[0], s[1]),
            )
            pool = list(beam)
            passing = self._passing(scored, [units.joined(c) for _, c in cands], original_joined)
            for obj, j, won, sim in passing:
                if won:
                    r, c = cands[j]
                    return result("successful", c, r, outs[j], sim)
                pool.append((obj, cands[j][0], cands[j][1], outs[j]))
                if len(pool) >= len(beam) + width:
                    break
            beam = sorted(pool, key=lambda s: s[0])[:width]
        best = beam[0]
        return result("failed", best[2], best[1], best[3])

    def _passing(self, scored: list, texts: list[str], original: str):
        """Candidates in search order that meet the similarity constraint, with their similarity
        (None without a constraint). Lazy: the encoder sees a candidate only when it would be
        taken, so a constraint costs encoder passes on few candidates, not on all of them."""
        c = self.cfg.similarity
        if c is None:
            yield from ((obj, j, won, None) for obj, j, won in scored)
            return
        step = max(self.cfg.beam_width, 4)
        for s0 in range(0, len(scored), step):
            chunk = scored[s0 : s0 + step]
            sims = self.sims([original] * len(chunk), [texts[j] for _, j, _ in chunk])
            for (obj, j, won), sim in zip(chunk, sims, strict=True):
                if sim >= c.threshold:
                    yield obj, j, won, sim

    def run(self, examples: Sequence[dict]) -> list[AttackResult]:
        """Search every example; candidates of up to ``parallel`` examples share each batch."""
        states = [_State(ex) for ex in examples]
        for s0 in range(0, len(states), max(self.cfg.parallel, 1) * 4):
            self._run_group(states[s0 : s0 + max(self.cfg.parallel, 1) * 4])
        return [s.result for s in states]  # type: ignore[misc]

    def _run_group(self, states: list[_State]) -> None:
        owner = self._owners([[s.example] for s in states])
        clean = self.counter.predict([s.example for s in states])
        for j in owner.values():
            states[j].queries += 1
        imp: list[np.ndarray | None] = [None] * len(states)
        grad = getattr(self.counter.victim, "importance", None)
        if self.cfg.importance == "gradient" and grad is not None:
            live = [j for j, s in enumerate(states) if not self.goal.skip(s.example, clean[j])]
            unit_lists = [
                Units(
                    states[j].example,
                    field_keys(states[j].example, self.goal, self.cfg.fields),
                    self.goal,
                )
                for j in live
            ]
            vals = grad([states[j].example for j in live], unit_lists, self.goal)
            for j, v in zip(live, vals, strict=True):
                if v is not None:
                    imp[j] = np.asarray(v)
                    states[j].queries += 1  # one forward (and backward) pass
                    self.counter.queries += 1
        pending: list[_State] = []
        waiting = list(range(len(states)))[::-1]
        while waiting or pending:
            while waiting and len(pending) < self.cfg.parallel:
                j = waiting.pop()
                st = states[j]
                st.gen = self.search(st, clean[j], imp[j])
                self._advance(st, None)
                if st.result is None:
                    pending.append(st)
            if not pending:
                continue
            flat = [c for st in pending for c in st.request or []]
            owner = self._owners([st.request or [] for st in pending])
            outs = self.counter.predict(flat)
            for j in owner.values():
                pending[j].queries += 1
            pos = 0
            still = []
            for st in pending:
                m = len(st.request or [])
                self._advance(st, outs[pos : pos + m])
                pos += m
                if st.result is None:
                    still.append(st)
            pending = still

    def _owners(self, requests: list[list[dict]]) -> dict[str, int]:
        """New content -> the first request asking for it (it is charged there, once)."""
        owner: dict[Any, int] = {}
        for j, req in enumerate(requests):
            for k in self.counter.keys(req):
                if k not in self.counter.cache:
                    owner.setdefault(k, j)
        return owner

    @staticmethod
    def _advance(st: _State, outs: list[Any] | None) -> None:
        assert st.gen is not None
        try:
            st.request = st.gen.send(outs) if outs is not None else next(st.gen)
        except StopIteration as stop:
            st.result = stop.value
            st.request = None


@dataclass
class AttackRun:
    config: AttackConfig
    results: list[AttackResult]
    summary: dict[str, float]
    lang: str = ""
    family: str = ""
    goal: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "constraint": self.config.constraint(),
            "goal": self.goal,
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
    """TextAttack-style aggregates, for every family.

    attack_success_rate = successful / (successful + failed) (skipped excluded);
    accuracy_under_attack = failed / all (the share the goal still holds for);
    clean_score / score_under_attack = mean per-example goal value (accuracy, token accuracy, span
    F1, hit@k) before and after the attack; avg_queries over attacked (non-skipped) examples;
    perturbation_rate = mean share of words edited in successful attacks.
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
        "clean_score": float(np.mean([r.clean_value for r in results])) if n else nan,
        "score_under_attack": float(np.mean([r.final_value for r in results])) if n else nan,
        "avg_queries": float(np.mean([r.queries for r in attacked])) if attacked else nan,
        "perturbation_rate": float(np.mean([r.modification_rate for r in succ])) if succ else nan,
    }


def family_goal(family: str, params: dict | None = None, spec: Any = None) -> AttackGoal:
    """The attack goal a task family declares (``attack_goal``); ConfigError if it has none."""
    from xstilts.registry import pydantic_message
    from xstilts.tasks.family import FAMILIES, get_family

    fam = get_family(family, where="family")
    make = getattr(fam, "attack_goal", None)
    if make is None:
        raise ConfigError(f"task family {family!r} declares no attack goal", where="family")
    if params and set(params) <= set(FAMILIES.names()):  # per family: {tagging: {...}, qa: ...}
        params = params.get(family) or {}
    try:
        return make(params or {}, spec)
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where="attack.goal") from None


def attack_problem(attack: dict[str, Any], spec: Any) -> str | None:
    """Why ``attack`` (an ``AttackConfig`` dict) cannot run on task ``spec``, or None.

    Checked at plan time: the family must declare a goal that accepts the goal parameters, and
    every attacked field must be one the goal edits and the task has.
    """
    from xstilts.tasks.family import get_family

    fam = get_family(spec.family)
    if getattr(fam, "attack_goal", None) is None:
        return f"task {spec.name} ({spec.family}) has no attack goal: its family cannot be attacked"
    try:
        cfg = AttackConfig.model_validate(attack)
        goal = family_goal(spec.family, cfg.goal, spec)
    except (ValidationError, ConfigError) as exc:
        return f"task {spec.name}: {getattr(exc, 'message', exc)}"
    task_fields = set(goal.fields) & (set(spec.text_fields) | set(goal.implicit_fields))
    for f in cfg.fields or []:
        if f not in task_fields:
            return (
                f"task {spec.name} has no attackable field {f!r} "
                f"(attackable: {', '.join(sorted(task_fields)) or 'none'})"
            )
    return None


def run_attack(
    victim: Any,
    examples: Sequence[dict],
    family: str,
    lang: str,
    config: AttackConfig | dict | None = None,
    *,
    spec: Any = None,
    goal: AttackGoal | None = None,
    similarity: Similarity | None = None,
    device: Any = None,
    dtype: Any = None,
) -> AttackRun:
    """Attack every example against the goal ``family`` declares.

    ``device``/``dtype``: where and in which precision the similarity encoder runs (the victim
    runs where its caller put it). With ``config.similarity`` and no ``similarity`` callable, the
    constraint's encoder is loaded (once per process).
    """
    cfg = config if isinstance(config, AttackConfig) else AttackConfig.model_validate(config or {})
    goal = goal or family_goal(family, cfg.goal, spec)
    goal.lang = lang
    for f in cfg.fields or []:
        if f not in goal.fields:
            raise ConfigError(
                f"field {f!r} is not attackable for {family}; use {', '.join(goal.fields)}",
                where="fields",
            )
    if cfg.similarity is not None and similarity is None:
        from xstilts.perturb.similarity import encoder_similarity

        similarity = encoder_similarity(cfg.similarity.encoder, device=device, dtype=dtype)
    transforms = [
        build(t.name, t.params, where=f"transformations[{j}]")
        for j, t in enumerate(cfg.transformations)
    ]
    counter = victim if isinstance(victim, QueryCounter) else QueryCounter(victim)
    results = Attack(counter, goal, lang, cfg, transforms, similarity).run(examples)
    return AttackRun(
        cfg, results, summarize_attack(results), lang=lang, family=family, goal=goal.describe()
    )


__all__ = [
    "AttackConfig",
    "AttackResult",
    "AttackRun",
    "LabelFlip",
    "QueryCounter",
    "attack_problem",
    "family_goal",
    "run_attack",
    "summarize_attack",
]
