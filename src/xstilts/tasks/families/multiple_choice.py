"""Multiple choice (COPA/XCOPA, Social IQa, HellaSwag, CommonsenseQA, Cosmos QA).

Each choice becomes one sequence pair ``(context, question + " " + choice)``; the head scores each
pair's pooled vector with one linear unit and the loss is a softmax over the example's choices, as
in ``BertForMultipleChoice`` (and XTREME-R's XCOPA recipe). Examples may have different numbers of
choices: collate pads the choice axis and ``choice_mask`` hides the padding.

COPA's ``question`` is ``cause`` or ``effect``; it is phrased as a question so the encoder sees
words, not a label: "What was the cause?" / "What happened as a result?".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from xstilts.errors import DataError
from xstilts.perturb.goals import AttackGoal, LabelFlip
from xstilts.tasks.families.classification import Classification
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec

COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def second_segment(question: str, choice: str) -> str:
    """The text paired with the context for one choice."""
    q = COPA_QUESTIONS.get(question, question).strip()
    return f"{q} {choice}".strip() if q else choice


class MultipleChoice(Classification):
    """Own featurize/collate (one row per choice); cross-entropy, argmax and scoring as classification."""

    name = "multiple_choice"
    head = "multiple_choice"

    def attack_goal(self, params: dict[str, Any], spec: TaskSpec | None) -> AttackGoal:
        """Attacks flip the chosen answer away from the gold one."""
        return MultipleChoiceGoal(params, spec)

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        firsts, seconds, owner = [], [], []
        for i, ex in enumerate(examples):
            choices = ex.get("choices") or []
            label = ex.get("label")
            if len(choices) < 2 or not isinstance(label, int) or not 0 <= label < len(choices):
                raise DataError(
                    f"multiple-choice example needs >= 2 choices and a label index, got "
                    f"{len(choices)} choices and label {label!r}",
                    where=ex.get("where") or ex.get("id"),
                )
            for choice in choices:
                firsts.append(ex.get("context") or "")
                seconds.append(second_segment(ex.get("question") or "", choice))
                owner.append(i)
        # an empty context (CommonsenseQA) is encoded as a single segment
        pair = any(firsts)
        enc = tokenizer(
            firsts if pair else seconds,
            seconds if pair else None,
            truncation=True,
            max_length=max_length,
        )
        ids_per: list[list[list[int]]] = [[] for _ in examples]
        types_per: list[list[list[int]]] = [[] for _ in examples]
        has_types = "token_type_ids" in enc and pair
        for j, i in enumerate(owner):
            ids_per[i].append(enc["input_ids"][j])
            if has_types:
                types_per[i].append(enc["token_type_ids"][j])
        feats: Features = {
            "input_ids": ids_per,
            "example": list(range(len(examples))),
            "labels": [int(ex["label"]) for ex in examples],
        }
        if has_types:
            feats["token_type_ids"] = types_per
        return feats

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        seqs, types, cmask = [], [], torch.zeros((len(rows), width), dtype=torch.long)
        for b, r in enumerate(rows):
            n = len(r["input_ids"])
            cmask[b, :n] = 1
            for c in range(width):  # padding choices repeat choice 0 and are masked out
                seqs.append(r["input_ids"][c if c < n else 0])
                if "token_type_ids" in r:
                    types.append(r["token_type_ids"][c if c < n else 0])
        ids, mask = pad_ids(seqs, pad_id)
        batch = {"input_ids": ids, "attention_mask": mask, "choice_mask": cmask}
        if types:
            batch["token_type_ids"], _ = pad_ids(types, 0)
        batch["labels"] = torch.as_tensor([r["labels"] for r in rows], dtype=torch.long)
        return batch


class MultipleChoiceGoal(LabelFlip):
    """Label flip; the context and the choices are attacked by default (COPA's ``question`` is
    ``cause``/``effect``, a label-like key, so it is attacked only when named)."""

    fields = ("context", "question", "choices")
    default_fields = ("context", "choices")
    implicit_fields = ("choices",)


FAMILIES.register("multiple_choice")(MultipleChoice())
