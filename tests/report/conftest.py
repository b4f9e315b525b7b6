"""A realistic results frame with hand-checkable numbers.

2 seeds; baseline + mnli + squad; targets xnli and pawsx; languages en, de, fr and a stored avg
(= mean of de and fr, as old runs stored it; readers must ignore it); perturbations and an attack
on xnli (English only); alignment probes per layer. Rows carry no ``kind`` (old runs): the loader
infers it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

MODEL = "xlmr-base"
SEEDS = (1, 2)

# The non-English average per (intermediate, target) and seed. Chosen so that:
# - mnli on xnli: Δ = +5.0, +5.04 -> paired t-test p ≈ 0.0025 (**)
# - squad on xnli: Δ = +1.0, -0.5 -> not significant
# - mnli on pawsx: Δ = +2.0, +2.2 -> p ≈ 0.03 (*)
# - squad on pawsx: Δ = -1.0, -3.0 -> not significant
AVG: dict[tuple[str, str], tuple[float, float]] = {
    ("none", "xnli"): (0.700, 0.720),
    ("mnli", "xnli"): (0.750, 0.7704),
    ("squad", "xnli"): (0.710, 0.715),
    ("none", "pawsx"): (0.800, 0.810),
    ("mnli", "pawsx"): (0.820, 0.832),
    ("squad", "pawsx"): (0.790, 0.780),
}

# Perturbed xnli scores (English), per intermediate and seed; the clean English score comes from
# task_rows (avg + 0.1): baseline 0.80/0.82, mnli 0.85/0.8704, squad 0.81/0.815.
ROBUST: dict[str, dict[str, tuple[float, float]]] = {
    "none": {
        "char_swap@0.1": (0.80, 0.81),
        "char_swap@0.2": (0.74, 0.76),
        "attack:greedy@200": (0.30, 0.34),
    },
    "mnli": {
        "char_swap@0.1": (0.86, 0.86),
        "char_swap@0.2": (0.82, 0.83),
        "attack:greedy@200": (0.42, 0.44),
    },
    "squad": {
        "char_swap@0.1": (0.81, 0.80),
        "char_swap@0.2": (0.75, 0.74),
        "attack:greedy@200": (0.31, 0.33),
    },
}


def row(**kw: Any) -> dict[str, Any]:
    base = {
        "run_id": f"r-{kw.get('intermediate', 'none')}-{kw.get('target', 'none')}-{kw.get('seed', 1)}",
        "config_hash": "c0ffee",
        "model": MODEL,
        "intermediate": "none",
        "target": "xnli",
        "seed": 1,
        "task": kw.get("target", "xnli"),
        "language": "avg",
        "split": "test",
        "perturbation": "none",
        "metric": "accuracy",
        "value": 0.0,
        "step": "eval",
        "extra": {},
    }
    base.update(kw)
    return base


def task_rows() -> list[dict[str, Any]]:
    rows = []
    for (inter, target), vals in AVG.items():
        metric = "accuracy"
        for seed, avg in zip(SEEDS, vals, strict=True):
            langs = {"avg": avg, "de": avg + 0.01, "fr": avg - 0.01, "en": avg + 0.1}
            for lang, v in langs.items():
                rows.append(
                    row(
                        intermediate=inter,
                        target=target,
                        seed=seed,
                        language=lang,
                        metric=metric,
                        value=v,
                    )
                )
                # dev rows exist too: the report must prefer test
                rows.append(
                    row(
                        intermediate=inter,
                        target=target,
                        seed=seed,
                        language=lang,
                        split="dev",
                        value=v - 0.2,
                    )
                )
                # a secondary metric that must not be picked as the main one
                rows.append(
                    row(
                        intermediate=inter,
                        target=target,
                        seed=seed,
                        language=lang,
                        metric="f1",
                        value=0.5,
                    )
                )
    return rows


def robust_rows() -> list[dict[str, Any]]:
    rows = []
    for inter, perts in ROBUST.items():
        for pert, vals in perts.items():
            for seed, v in zip(SEEDS, vals, strict=True):
                if pert.startswith("attack:"):
                    rows.append(
                        row(
                            intermediate=inter,
                            seed=seed,
                            language="en",
                            perturbation=pert,
                            metric="accuracy_under_attack",
                            value=v,
                        )
                    )
                    rows.append(
                        row(
                            intermediate=inter,
                            seed=seed,
                            language="en",
                            perturbation=pert,
                            metric="attack_success_rate",
                            value=1 - v,
                        )
                    )
                    rows.append(  # the attacked rows before the attack
                        row(
                            intermediate=inter,
                            seed=seed,
                            language="en",
                            perturbation=pert,
                            metric="clean_accuracy",
                            value=v + 0.5,
                        )
                    )
                    rows.append(
                        row(
                            intermediate=inter,
                            seed=seed,
                            language="en",
                            perturbation=pert,
                            metric="avg_queries",
                            value=120.0 + 10 * seed,
                        )
                    )
                    rows.append(
                        row(
                            intermediate=inter,
                            seed=seed,
                            language="en",
                            perturbation=pert,
                            metric="perturbation_rate",
                            value=0.12,
                        )
                    )
                elif pert != "none":
                    rows.append(
                        row(
                            intermediate=inter, seed=seed, language="en", perturbation=pert, value=v
                        )
                    )
    return rows


def alignment_rows() -> list[dict[str, Any]]:
    rows = []
    for inter, peak, bonus in (("none", 7, 0.0), ("mnli", 9, 0.05)):
        for seed in SEEDS:
            for layer in range(13):
                shape = 1 - abs(layer - peak) / 13
                for lang, off in (("de", 0.02), ("fr", -0.02)):
                    extra = {
                        "checkpoint": f"{inter}-ckpt" if inter != "none" else "xlmr-base",
                        "layer": layer,
                    }
                    rows.append(
                        row(
                            intermediate=inter,
                            target="none",
                            task="tatoeba",
                            seed=seed,
                            language=lang,
                            metric="tatoeba_acc",
                            value=0.5 * shape + bonus + off,
                            extra=extra,
                        )
                    )
                    rows.append(
                        row(
                            intermediate=inter,
                            target="none",
                            task="tatoeba",
                            seed=seed,
                            language=lang,
                            metric="cka",
                            value=0.6 + 0.02 * layer + off + bonus,
                            extra=extra,
                        )
                    )
    return rows


@pytest.fixture(scope="session")
def full_frame() -> pd.DataFrame:
    """Every kind of row (shared: copy before changing it)."""
    return pd.DataFrame(task_rows() + robust_rows() + alignment_rows())


@pytest.fixture(scope="session")
def clean_frame() -> pd.DataFrame:
    """Only the clean task scores: no perturbation, attack or alignment rows (shared)."""
    return pd.DataFrame(task_rows())


@pytest.fixture
def results_df(full_frame: pd.DataFrame) -> pd.DataFrame:
    return full_frame.copy()
