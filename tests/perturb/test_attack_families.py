"""Attacks on every task family, on real data with the real offline encoder.

Heads are untrained (seeded), so tagging and QA goals use the model's own clean prediction as the
reference (``reference: prediction``): what is tested is the bookkeeping and the invariants (tags
stay aligned, gold answers stay findable, queries are real forward passes, a claimed success is a
success when the adversarial example is run again), not the model's accuracy. Retrieval needs no
head: the encoder retrieves Tatoeba partners well, and the goal uses the gold pairs.
"""

from __future__ import annotations

import math
import unicodedata

import pytest
import torch

from xstilts.data.sources import load_examples
from xstilts.perturb.attack import Units, run_attack
from xstilts.perturb.codemix import Dictionaries
from xstilts.perturb.text import words

CHAR = [{"name": "char_delete"}, {"name": "char_swap"}]
REPORTED = ("attack_success_rate", "avg_queries", "score_under_attack", "perturbation_rate")


def _model(spec):
    from xstilts.experiments.pipeline import add_task_head, build_model
    from xstilts.models.encoder import resolve_model

    torch.manual_seed(0)
    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    if spec is not None:
        add_task_head(model, spec, ref.pooling)
    return model.eval(), tok


def _victim(task: str, goal_params: dict):
    from xstilts.perturb.attack import family_goal
    from xstilts.perturb.victims import FamilyVictim
    from xstilts.tasks.registry import get_task

    spec = get_task(task)
    goal = family_goal(spec.family, goal_params, spec)
    model, tok = _model(spec)
    return spec, goal, FamilyVictim(model, tok, spec, goal, max_length=128, batch_size=32)


def _reports(run) -> None:
    for k in REPORTED:
        assert k in run.summary
    assert run.summary["n"] == len(run.results)
    assert run.to_dict()["constraint"]["query_budget"] == run.config.query_budget


@pytest.mark.parametrize(
    ("task", "lang", "split"), [("panx", "de", "dev"), ("udpos", "de", "test")]
)
def test_tagging_attack_keeps_every_tag_aligned(shared_data, task, lang, split):
    goal_params = {"reference": "prediction", "threshold": 0.95}
    spec, goal, victim = _victim(task, goal_params)
    ex, _ = load_examples(spec, split, lang, shared_data, limit=4)
    cfg = {
        "goal": goal_params,
        "query_budget": 20,
        "candidates_per_word": 2,
        "transformations": CHAR,
    }
    run = run_attack(victim, ex, spec.family, lang, cfg, spec=spec, goal=goal)
    _reports(run)
    # queries are real forward passes (cache hits free)
    assert sum(r.queries for r in run.results) == victim.forward_examples
    assert run.summary["successful"] >= 1
    edited = 0
    for orig, r in zip(ex, run.results, strict=True):
        new = r.perturbed
        assert new["tags"] == orig["tags"] and len(new["tokens"]) == len(orig["tokens"])
        for a, b in zip(orig["tokens"], new["tokens"], strict=True):
            assert b.strip() and len(b.split()) == len(a.split()) == 1
            edited += a != b
        if r.status == "successful":  # the claim holds when the example is run again
            out = victim.predict([new])[0]
            assert goal.success(new, out, victim.predict([orig])[0])
            assert 0 < r.modification_rate <= 0.3 + 1e-9
    assert edited >= 1


def _findable(e: dict) -> None:
    for a in e["answers"]:
        s = a["answer_start"]
        assert e["context"][s : s + len(a["text"])] == a["text"]


def _short_xquad(shared_data, n: int = 2) -> list[dict]:
    from xstilts.tasks.registry import get_task

    ex, _ = load_examples(get_task("xquad"), "test", "de", shared_data, limit=40)
    return sorted(ex, key=lambda e: len(e["context"]))[:n]


def test_qa_edits_leave_answers_findable_at_mapped_offsets(shared_data):
    """Every word outside the answers edited at once: offsets move, answers stay findable."""
    from xstilts.perturb.attack import family_goal
    from xstilts.tasks.registry import get_task

    goal = family_goal("qa", {}, get_task("xquad"))
    for e in _short_xquad(shared_data, 6):
        u = Units(e, ["context"], goal)
        assert 0 < len(u.units) < u.n_words  # answer words are frozen
        new = u.render({i: u.text(i)[::-1] + "x" for i in range(len(u.units))})
        _findable(new)
        assert new["context"] != e["context"]
        assert any(
            a["answer_start"] != b["answer_start"]
            for a, b in zip(e["answers"], new["answers"], strict=True)
        )


@pytest.mark.full
def test_qa_attack_keeps_gold_answers_findable(shared_data):
    goal_params = {"reference": "prediction"}
    spec, goal, victim = _victim("xquad", goal_params)
    ex = _short_xquad(shared_data, 4)
    cfg = {
        "goal": goal_params,
        "fields": ["context"],
        "query_budget": 15,
        "candidates_per_word": 1,
        "transformations": CHAR,
    }
    run = run_attack(victim, ex, "qa", "de", cfg, spec=spec, goal=goal)
    _reports(run)
    print("xquad de:", run.summary)
    assert sum(r.queries for r in run.results) == victim.forward_examples
    for orig, r in zip(ex, run.results, strict=True):
        _findable(r.perturbed)
        assert r.perturbed["question"] == orig["question"]


def _tatoeba(shared_data, n: int):
    from xstilts.tasks.registry import get_task

    spec = get_task("tatoeba")
    ex, _ = load_examples(spec, "test", "de", shared_data, limit=n)
    return spec, ex


@pytest.mark.full
def test_retrieval_attack_pushes_the_gold_partner_out_of_the_top_k(shared_data):
    from xstilts.perturb.victims import RetrievalVictim

    spec, ex = _tatoeba(shared_data, 24)
    model, tok = _model(None)
    victim = RetrievalVictim(model, tok, [e["text_b"] for e in ex], prefix="query: ")
    queries = [{"id": e["id"], "text_a": e["text_a"], "gold": i} for i, e in enumerate(ex)][:5]
    cfg = {"query_budget": 30, "candidates_per_word": 3, "transformations": CHAR}
    run = run_attack(victim, queries, "retrieval", "de", cfg, spec=spec)
    _reports(run)
    print("tatoeba de:", run.summary)
    assert run.summary["successful"] >= 1
    assert sum(r.queries for r in run.results) == victim.forward_examples
    for q, r in zip(queries, run.results, strict=True):
        if r.status == "successful":
            sims = victim.predict([r.perturbed])[0]
            assert (sims > sims[q["gold"]]).sum() >= 1  # gold partner no longer first


@pytest.mark.full
def test_code_mix_example_holds_only_dictionary_translations(shared_data):
    """Bumblebee/PolyGloss-style on PAN-X: German tokens become Hindi or Russian translations
    (German has no direct pair with either: the dictionaries pivot through English)."""
    goal_params = {"reference": "prediction", "threshold": 0.95}
    spec, goal, victim = _victim("panx", goal_params)
    ex, _ = load_examples(spec, "dev", "de", shared_data, limit=12)
    mix = {"languages": ["hi", "ru"], "sources": ["muse"], "dict_dir": str(shared_data)}
    threshold = 0.8
    cfg = {
        "goal": goal_params,
        "transformations": [{"name": "code_mix", "params": mix}],
        "query_budget": 20,
        "candidates_per_word": 4,
        "similarity": {"threshold": threshold},
    }
    run = run_attack(victim, ex, "tagging", "de", cfg, spec=spec, goal=goal)
    assert run.to_dict()["constraint"]["similarity"]["threshold"] == threshold
    succ = [(q, r) for q, r in zip(ex, run.results, strict=True) if r.status == "successful"]
    assert succ, run.summary
    dicts = Dictionaries(str(shared_data), ["muse"], 2)
    from xstilts.perturb.similarity import encoder_similarity

    sim = encoder_similarity("offline")
    for q, r in succ:
        assert r.edits and r.perturbed["tags"] == q["tags"]
        changed = [
            (a, b) for a, b in zip(q["tokens"], r.perturbed["tokens"], strict=True) if a != b
        ]
        assert len(changed) == len(r.edits)
        for a, b in changed:
            options = {t.lower() for lang in ("hi", "ru") for t in dicts.translate(a, "de", lang)}
            assert b.lower() in options, (a, b)  # only dictionary translations
            ws = words(b)  # one whole word, NFC, in one script of an embedded language
            assert len(ws) == 1 and ws[0].text == b and ws[0].script in ("Devanagari", "Cyrillic")
            assert unicodedata.is_normalized("NFC", b)
        # the similarity it reports is real and passes the constraint
        s = float(sim(["\n".join(q["tokens"])], ["\n".join(r.perturbed["tokens"])])[0])
        assert s >= threshold and math.isclose(s, r.similarity, abs_tol=1e-3)
