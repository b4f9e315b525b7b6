"""Perturbed copies and attacks for the planner: the code lives with the protocols
(``evaluation/protocols/perturbed.py``, ``attack.py``); the planner's checks are re-exported."""

from xstilts.evaluation.protocols.attack import ModelVictim
from xstilts.evaluation.protocols.perturbed import (
    REAL_TYPOS,
    check_attack,
    check_perturbation,
    expand_params,
    perturb_examples,
    perturbation_applies,
    real_typos_examples,
)

__all__ = [
    "REAL_TYPOS",
    "ModelVictim",
    "check_attack",
    "check_perturbation",
    "expand_params",
    "perturb_examples",
    "perturbation_applies",
    "real_typos_examples",
]
