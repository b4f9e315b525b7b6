"""The ``alignment:`` section of an experiment config (validated; unknown keys are errors).

Kept free of heavy imports (only pydantic) so ``experiments.config`` can import it without a cycle
and without loading torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Examples for messages; any task with translated rows is an input set (``align/inputs.py``).
INPUT_SET_NAMES = ("tatoeba", "bucc2018", "xnli", "pawsx", "xquad")
METRIC_GROUPS = ("retrieval", "geometry", "cka", "lang_id")
CHECKPOINT_KINDS = ("pretrained", "intermediate", "target")


class AlignPerturbation(BaseModel):
    """A perturbation of the non-English side (see ``xstilts perturb --list``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    label: str | None = None  # default name@rate


class AlignmentConfig(BaseModel):
    """What to measure, on which inputs, for which checkpoints of the grid.

    ``checkpoints``: ``pretrained`` (the model as loaded), ``intermediate`` (every intermediate
    checkpoint of the grid) and/or ``target`` (every target checkpoint). ``reference`` is the
    checkpoint CKA compares against (a label, normally ``pretrained``).
    """

    model_config = ConfigDict(extra="forbid")

    inputs: list[str] = Field(default_factory=lambda: ["tatoeba"])
    languages: list[str] | None = None  # default: every language of each input set
    max_sentences: int | None = 1000  # per language and input set (BUCC: per side)
    checkpoints: list[Literal["pretrained", "intermediate", "target"]] = Field(
        default_factory=lambda: ["pretrained", "intermediate"]
    )
    reference: str = "pretrained"
    metrics: list[Literal["retrieval", "geometry", "cka", "lang_id"]] = Field(
        default_factory=lambda: list(METRIC_GROUPS)
    )
    perturbations: list[AlignPerturbation] = Field(default_factory=list)
    layers: list[int] | None = None  # default: all (0 = embeddings)
    batch_size: int = Field(64, ge=1)
    max_length: int = Field(128, ge=8)
    prefix: str = ""  # prepended to every sentence (e.g. "query: " for E5 models)
    dtype: Literal["float16", "float32"] = "float16"  # how cached states are stored
    cka: Literal["linear", "debiased"] = "linear"
    probe_test_share: float = Field(0.3, gt=0.0, lt=1.0)
    probe_max_per_language: int = Field(500, ge=10)

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, v: list[str]) -> list[str]:
        from xstilts.tasks.registry import all_tasks

        known = set(all_tasks())
        bad = [x for x in v if x not in known]
        if bad:
            raise ValueError(
                f"unknown input set(s) {', '.join(bad)}: an input set is a task (e.g. "
                f"{', '.join(INPUT_SET_NAMES)})"
            )
        if not v:
            raise ValueError("at least one input set")
        return list(dict.fromkeys(v))

    @field_validator("max_sentences")
    @classmethod
    def _max(cls, v: int | None) -> int | None:
        if v is not None and v < 10:
            raise ValueError("max_sentences must be at least 10")
        return v
