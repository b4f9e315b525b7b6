"""Script-aware perturbations, label-preserving dataset copies and adaptive black-box attacks.

Importing the package registers every perturbation in ``PERTURBATIONS``.
"""

from xstilts.perturb import char as _char  # noqa: F401  (registers)
from xstilts.perturb import codemix as _codemix  # noqa: F401  (registers)
from xstilts.perturb import word as _word  # noqa: F401  (registers)
from xstilts.perturb.base import PERTURBATIONS, Perturbation, build
from xstilts.perturb.examples import (
    PerturbRecord,
    PerturbStats,
    perturb_dataset,
    perturb_example,
    perturbation_key,
    perturbation_label,
    show_perturbation,
)
from xstilts.perturb.text import Edit, apply_edits
from xstilts.perturb.word import code_mix_parallel

__all__ = [
    "PERTURBATIONS",
    "Edit",
    "PerturbRecord",
    "PerturbStats",
    "Perturbation",
    "apply_edits",
    "build",
    "code_mix_parallel",
    "perturb_dataset",
    "perturb_example",
    "perturbation_key",
    "perturbation_label",
    "show_perturbation",
]
