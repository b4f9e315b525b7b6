"""What an attack tries to reach, declared by each task family (``Family.attack_goal``).

The search in ``perturb/attack.py`` only sees this interface, so it never asks which family it
attacks: a goal turns model outputs into an objective (lower is closer to success), says when an
example is won, which field spans may not be edited (a QA answer), which edits keep the example
well formed (one token stays one token in tagging) and how offsets move after an edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

Span = tuple[int, int]


class GoalParams(BaseModel):
    """No parameters (label flips)."""

    model_config = ConfigDict(extra="forbid")


class AttackGoal:
    """Base goal. Subclasses set ``fields`` and implement ``objective``/``value``/``success``.

    ``value`` is the task's own per-example score (accuracy 0/1, token accuracy, span F1, hit@k):
    its mean over examples is the score under attack. ``objective`` guides the search.
    """

    name: ClassVar[str] = ""
    params_model: ClassVar[type[BaseModel]] = GoalParams
    fields: ClassVar[tuple[str, ...]] = ()  # fields an attack may edit
    default_fields: ClassVar[tuple[str, ...] | None] = None  # attacked when none are named
    # fields every task of the family has though its ``text_fields`` may not list them (choices)
    implicit_fields: ClassVar[tuple[str, ...]] = ()
    metric: ClassVar[str] = "accuracy"  # what ``value`` measures, for the report
    # outputs read the raw text (a QA answer is cut from the context): equal features are not
    # equal outputs, so queries are cached by content, not by features
    decodes_text: ClassVar[bool] = False

    def __init__(self, params: BaseModel | dict | None = None, spec: Any = None) -> None:
        self.params = (
            params
            if isinstance(params, BaseModel)
            else self.params_model.model_validate(params or {})
        )
        self.spec = spec
        self.lang = ""  # the attacked language (set by ``run_attack``)

    # -- outputs of the model
    def decode(self, preds: list, logits: list, examples: Sequence[dict], features: dict) -> list:
        """Per-example outputs from ``evaluation.predict`` (default: softmax of the logits)."""
        import torch

        return [torch.softmax(x.float(), -1).numpy() for x in logits]

    # -- the goal
    def objective(self, example: dict, out: Any, clean: Any) -> float:
        raise NotImplementedError

    def value(self, example: dict, out: Any, clean: Any) -> float:
        raise NotImplementedError

    def success(self, example: dict, out: Any, clean: Any) -> bool:
        raise NotImplementedError

    def skip(self, example: dict, clean: Any) -> bool:
        """Already won before any edit (a wrong clean prediction): not attacked."""
        return self.success(example, clean, clean)

    # -- edits
    def frozen(self, example: dict, key: str) -> list[Span]:
        """Spans of field ``key`` no edit may touch."""
        return []

    def valid(self, key: str, before: str, after: str) -> bool:
        """Whether field ``key`` may change from ``before`` to ``after``."""
        return bool(after.strip())

    def remap(
        self, original: dict, new: dict, edits: dict[str, list[tuple[int, int, str]]]
    ) -> None:
        """Move offsets that point into edited fields (in place on ``new``)."""

    def grad_fields(self, example: dict) -> list[str] | None:
        """Fields encoded as one (pair) sequence, in order, for gradient word importance; None:
        this goal's inputs are not a plain text pair (importance falls back to deletion)."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"goal": self.name, "metric": self.metric, **self.params.model_dump(mode="json")}


def new_offset(pos: int, edits: Sequence[tuple[int, int, str]]) -> int:
    """Offset ``pos`` of the original text after ``edits`` (``(start, end, replacement)``, none
    overlapping ``pos``): shifted by the length change of every edit before it."""
    return pos + sum(len(s) - (b - a) for a, b, s in edits if b <= pos)


class LabelFlip(AttackGoal):
    """Classification and multiple choice: the predicted class leaves the gold one."""

    name = "label_flip"
    metric = "accuracy"

    def label(self, example: dict) -> int:
        lab = example["label"]
        if isinstance(lab, (int, np.integer)):
            return int(lab)
        return list(self.spec.labels or []).index(str(lab))

    def objective(self, example, out, clean):
        return float(out[self.label(example)])

    def value(self, example, out, clean):
        return float(int(np.argmax(out)) == self.label(example))

    def success(self, example, out, clean):
        return int(np.argmax(out)) != self.label(example)
