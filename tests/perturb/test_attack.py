"""Attack bookkeeping against deterministic toy victims (no real model needed for these)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xstilts.errors import ConfigError
from xstilts.perturb.attack import AttackConfig, QueryCounter, run_attack, summarize_attack

KEYWORDS = {"gut": 2.0, "schön": 1.5, "toll": 1.0, "prima": 0.7}


class KeywordVictim:
    """p(class 1) = sigmoid(sum of weights of intact keywords - 1.5); counts what it is sent."""

    def __init__(self) -> None:
        self.sent = 0
        self.calls = 0

    def predict_proba(self, examples: list[dict]) -> np.ndarray:
        self.calls += 1
        self.sent += len(examples)
        out = []
        for ex in examples:
            words = (ex["text_a"] + " " + ex.get("text_b", "")).split()
            z = sum(KEYWORDS.get(w, 0.0) for w in words) - 1.5
            p1 = 1 / (1 + np.exp(-z))
            out.append([1 - p1, p1])
        return np.array(out)


SENTENCES = [
    "das Essen war gut und der Service schön",
    "ein gut gemachter Film mit toll gespielten Rollen",
    "gut gut schön toll prima alles bestens hier",
    "der Abend war schön und prima organisiert",
    "wirklich gut und toll und schön gemacht worden",
    "ein prima Tag mit gut Wetter",
]


def _examples():
    exs = [{"id": f"e{i}", "text_a": s, "label": 1} for i, s in enumerate(SENTENCES)]
    exs.append(
        {"id": "wrong", "text_a": "nichts davon", "label": 1}
    )  # clean prediction is 0: skipped
    return exs


def test_counts_queries_exactly_and_respects_budget():
    for budget in (1, 3, 10, 40, 200):
        victim = KeywordVictim()
        run = run_attack(victim, _examples(), "classification", "de", {"query_budget": budget})
        assert sum(r.queries for r in run.results) == victim.sent
        assert all(r.queries <= budget for r in run.results)
        assert all(1 <= r.queries for r in run.results)


def test_cache_hits_not_counted():
    victim = KeywordVictim()
    counter = QueryCounter(victim)
    exs = _examples()
    first = run_attack(counter, exs, "classification", "de", {"query_budget": 100})
    sent = victim.sent
    second = run_attack(counter, exs, "classification", "de", {"query_budget": 100})
    assert victim.sent == sent and counter.queries == sent, "everything was cached"
    assert all(r.queries == 0 for r in second.results) and counter.cache_hits > 0
    assert [r.status for r in first.results] == [r.status for r in second.results]
    # duplicates inside one batch are sent once
    c2 = QueryCounter(KeywordVictim())
    c2.predict_proba([exs[0], dict(exs[0], id="other-id"), exs[1]])
    assert c2.queries == 2 and c2.cache_hits == 1


def test_skipped_excluded_from_success_rate():
    run = run_attack(KeywordVictim(), _examples(), "classification", "de", {"query_budget": 500})
    st = {r.id: r.status for r in run.results}
    assert st["wrong"] == "skipped"
    s, f = run.summary["successful"], run.summary["failed"]
    assert run.summary["skipped"] == 1
    assert run.summary["attack_success_rate"] == pytest.approx(s / (s + f))
    assert run.summary["accuracy_under_attack"] == pytest.approx(f / 7)
    assert run.summary["clean_accuracy"] == pytest.approx(6 / 7)
    skipped = next(r for r in run.results if r.id == "wrong")
    assert skipped.queries == 1 and skipped.perturbed["text_a"] == "nichts davon"


def test_successful_attacks_really_flip_and_respect_constraints():
    victim = KeywordVictim()
    cfg = AttackConfig(query_budget=500, max_modification_rate=0.25)
    run = run_attack(victim, _examples(), "classification", "de", cfg)
    succ = [r for r in run.results if r.status == "successful"]
    assert succ
    for r in succ:
        assert victim.predict_proba([r.perturbed])[0].argmax() != 1
        assert r.modification_rate <= 0.25 + 1e-9 and r.n_edits == len(r.edits)
        assert r.perturbed["label"] == 1


def test_success_rate_non_decreasing_in_budget():
    rates = []
    for budget in (1, 2, 5, 9, 15, 25, 50, 100, 400):
        run = run_attack(
            KeywordVictim(),
            _examples(),
            "classification",
            "de",
            {"query_budget": budget, "seed": 1},
        )
        rates.append(run.summary["attack_success_rate"])
    assert rates == sorted(rates), rates
    assert rates[0] == 0.0 and rates[-1] > 0.5  # not vacuous


def test_max_edits_and_similarity_constraints():
    run = run_attack(
        KeywordVictim(), _examples(), "classification", "de", {"max_edits": 1, "query_budget": 500}
    )
    assert all(r.n_edits <= 1 for r in run.results)
    calls = []

    def sim(a: list[str], b: list[str]) -> np.ndarray:
        calls.append(len(a))
        return np.zeros(len(a))  # nothing is similar enough: every candidate is filtered

    victim = KeywordVictim()
    run = run_attack(
        victim,
        _examples(),
        "classification",
        "de",
        {"similarity": {"threshold": 0.5}},
        similarity=sim,
    )
    assert calls and run.summary["successful"] == 0
    with pytest.raises(ConfigError, match="similarity"):
        run_attack(
            KeywordVictim(),
            _examples(),
            "classification",
            "de",
            {"similarity": {"threshold": 0.5, "encoder": "/no/such/encoder"}},
        )


def test_beam_search_and_saving(tmp_path):
    run = run_attack(
        KeywordVictim(),
        _examples(),
        "classification",
        "de",
        {"search": "beam", "beam_width": 3, "query_budget": 300},
    )
    path = tmp_path / "attack.json"
    run.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["config"]["search"] == "beam" and data["config"]["query_budget"] == 300
    assert data["summary"] == json.loads(json.dumps(run.summary))
    assert len(data["results"]) == 7 and data["label"].startswith("attack:")
    assert summarize_attack(run.results) == run.summary


def test_unknown_transformation_is_config_error():
    with pytest.raises(ConfigError, match="transformations"):
        run_attack(
            KeywordVictim(),
            _examples(),
            "classification",
            "de",
            {"transformations": [{"name": "nope"}]},
        )
