"""Token tagging: UD-POS, PAN-X/WikiANN NER, CCG supertagging.

Labelling follows XTREME's ``run_tag.py``: the first sub-token of each word carries the word's tag,
the others ``-100``; a word the tokenizer turns into nothing becomes ``<unk>`` so it is still
predicted. With SentencePiece vocabularies (XLM-R), a word that starts with the lone ``▁`` piece
(CJK words: ``▁`` ``二十``) drops it so the label sits on a piece that carries the word (XTREME
labels the bare ``▁``, which leaves Chinese/Japanese tags to context alone). Sentences longer than ``max_length`` are never truncated: the words are packed greedily
into consecutive *windows* of whole words (one word longer than a window alone keeps its first
sub-tokens), so every word sits in exactly one window and is predicted exactly once; ``score``
merges the windows back into sentences (feature column ``example`` -> sentence, ``word_start`` ->
the window's first word).

Family parameters, read from the task's ``defaults`` (other keys there are hyperparameters):

* ``unknown_tags`` (what a gold tag outside the label list does):
  ``error`` (default) -- a :class:`DataError` naming the sentence (a UPOS/BIO file with another
  tag is broken); ``wrong`` -- the gold tag is kept, it is ignored by the loss and scored as a
  wrong prediction (the model cannot produce it): the usual supertagging evaluation, CCG's default;
  ``O`` -- the tag is read as ``O`` in both training and scoring (needs ``O`` in the labels).
* ``label_min_count`` (default 1): with ``labels: null`` the label list is discovered from the
  training data (sorted tags seen at least this often; rarer tags follow ``unknown_tags``).
  The list is stored in the checkpoint's head config; evaluation reads it back from there, so
  train and test use the same id -> tag mapping.

Scores: every metric in ``spec.metrics`` over word-level tag sequences (``seqeval``: XTREME's F1 for
both NER and POS; ``token_accuracy``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xstilts.errors import ConfigError, DataError
from xstilts.evaluation.metrics import compute
from xstilts.perturb.goals import AttackGoal
from xstilts.registry import pydantic_message
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec

IGNORE = -100


class TaggingParams(BaseModel):
    model_config = ConfigDict(extra="ignore")  # ``defaults`` also holds hyperparameters

    unknown_tags: Literal["error", "wrong", "O"] = "error"
    label_min_count: int = 1


def tagging_params(spec: TaskSpec) -> TaggingParams:
    try:
        return TaggingParams.model_validate(spec.defaults)
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where=f"task {spec.name}.defaults") from None


def discover_labels(examples: Sequence[dict], min_count: int = 1) -> list[str]:
    """Sorted tags seen at least ``min_count`` times in the examples."""
    counts = Counter(t for ex in examples for t in ex.get("tags") or [])
    return sorted(t for t, n in counts.items() if n >= min_count)


def pack_windows(lengths: list[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` word ranges whose sub-token counts fit ``budget``.

    Every word is in exactly one window; a word longer than ``budget`` is alone in its window
    (and is cut to ``budget`` sub-tokens by the caller).
    """
    if budget < 1:
        raise ConfigError(f"max_length leaves {budget} tokens per window", where="max_length")
    out: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, n in enumerate(lengths):
        n = min(max(n, 1), budget)
        if i > start and used + n > budget:
            out.append((start, i))
            start, used = i, 0
        used += n
    if start < len(lengths) or not lengths:
        out.append((start, len(lengths)))
    return out


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids before and after the content of a single sequence."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    raise ConfigError("cannot locate the special tokens of this tokenizer", where="model")


def bare_prefix_id(tokenizer: Any) -> int | None:
    """The id of SentencePiece's lone word-start piece ``▁`` (XLM-R), if the vocabulary has one."""
    tid = tokenizer.convert_tokens_to_ids("\u2581")
    if isinstance(tid, int) and tid != tokenizer.unk_token_id:
        return tid
    return None


class Tagging:
    name = "tagging"
    head = "token_tagging"

    # --- labels ------------------------------------------------------------------------------

    def prepare_spec(self, spec: TaskSpec, train_examples: Sequence[dict]) -> TaskSpec:
        """With ``labels: null``, the label list discovered from the training examples."""
        if spec.labels is not None:
            return spec
        labels = discover_labels(train_examples, tagging_params(spec).label_min_count)
        if not labels:
            raise DataError(f"no tags in the training data of {spec.name}", where=spec.name)
        return spec.model_copy(update={"labels": labels})

    def attack_goal(self, params: dict[str, Any], spec: TaskSpec | None) -> AttackGoal:
        """Attacks push a sentence's tagging score below a threshold (see ``TaggingGoalParams``)."""
        goal = TaggingGoal(params, spec)
        goal.family = self
        return goal

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        labels = self._labels(spec)
        return {"num_labels": len(labels), "labels": list(labels)}

    def _labels(self, spec: TaskSpec) -> list[str]:
        if not spec.labels:
            raise ConfigError(
                f"task {spec.name} has labels: null and no label list was discovered (train "
                "first: the list comes from the training data and lives in the checkpoint)",
                where=f"task {spec.name}.labels",
            )
        return list(spec.labels)

    def gold_tags(self, ex: dict, spec: TaskSpec, params: TaggingParams | None = None) -> list[str]:
        """The example's tags as scored (``unknown_tags: O`` reads unknown tags as ``O``)."""
        tags = ex.get("tags")
        if tags is None:
            raise DataError(
                f"example has no gold tags (unlabelled file?) in task {spec.name}",
                where=ex.get("id"),
            )
        params = params or tagging_params(spec)
        if params.unknown_tags != "O":
            return list(tags)
        known = set(spec.labels or [])
        return [t if t in known else "O" for t in tags]

    # --- features ----------------------------------------------------------------------------

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        labels = self._labels(spec)
        index = {lab: i for i, lab in enumerate(labels)}
        params = tagging_params(spec)
        if params.unknown_tags == "O" and "O" not in index:
            raise ConfigError(
                f"unknown_tags: O needs an O tag in the labels of {spec.name}",
                where=f"task {spec.name}.defaults.unknown_tags",
            )
        prefix, suffix = special_tokens(tokenizer)
        before, after = len(prefix), len(suffix)
        budget = max_length - before - after
        unk = tokenizer.unk_token_id
        bare = bare_prefix_id(tokenizer)
        words_all = [list(ex.get("tokens") or []) for ex in examples]
        enc = (
            tokenizer(
                [w if w else [""] for w in words_all],
                is_split_into_words=True,
                add_special_tokens=False,
            )
            if examples
            else None
        )
        feats: Features = {
            "input_ids": [],
            "labels": [],
            "label_mask": [],
            "example": [],
            "word_start": [],
        }
        for k, (ex, words) in enumerate(zip(examples, words_all, strict=True)):
            tags = ex.get("tags")
            if tags is not None and len(tags) != len(words):
                raise DataError(
                    f"{len(words)} tokens but {len(tags)} tags", where=ex.get("id") or str(k)
                )
            pieces: list[list[int]] = [[] for _ in words]
            ids = enc["input_ids"][k]
            for pos, w in enumerate(enc.word_ids(k)):
                if w is not None and w < len(words):
                    pieces[w].append(ids[pos])
            if bare is not None:  # '▁' + '二十' -> '二十': the label goes on a real piece
                pieces = [p[1:] if len(p) > 1 and p[0] == bare else p for p in pieces]
            pieces = [(p or [unk])[:budget] for p in pieces]
            word_labels = [self._label(t, index, params, ex, spec) for t in tags or []]
            for start, end in pack_windows([len(p) for p in pieces], budget):
                content: list[int] = []
                lab: list[int] = []
                mask: list[int] = []
                for w in range(start, end):
                    content += pieces[w]
                    first = word_labels[w] if tags is not None else IGNORE
                    lab += [first] + [IGNORE] * (len(pieces[w]) - 1)
                    mask += [1] + [0] * (len(pieces[w]) - 1)
                full = prefix + content + suffix
                feats["input_ids"].append(full)
                feats["labels"].append([IGNORE] * before + lab + [IGNORE] * after)
                feats["label_mask"].append([0] * before + mask + [0] * after)
                feats["example"].append(k)
                feats["word_start"].append(start)
        return feats

    def _label(
        self, tag: str, index: dict[str, int], params: TaggingParams, ex: dict, spec: TaskSpec
    ) -> int:
        if tag in index:
            return index[tag]
        if params.unknown_tags == "O":
            return index["O"]
        if params.unknown_tags == "wrong":
            return IGNORE
        raise DataError(
            f"tag {tag!r} is not a label of task {spec.name} ({', '.join(index)}); set "
            "defaults.unknown_tags to 'wrong' or 'O' to accept it",
            where=ex.get("id"),
        )

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        labels, _ = pad_ids([r["labels"] for r in rows], IGNORE)
        lmask, _ = pad_ids([r["label_mask"] for r in rows], 0)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels, "label_mask": lmask}

    # --- training and decoding ---------------------------------------------------------------

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch["labels"]
        if not bool((labels != IGNORE).any()):  # a window of unknown tags only: no signal
            return logits.float().sum() * 0.0
        return F.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE
        )

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per feature (window): the predicted label ids of its words, in order."""
        best = logits.argmax(-1).cpu()
        mask = batch["label_mask"].cpu().bool()
        return [best[i][mask[i]].tolist() for i in range(best.size(0))]

    def per_example(
        self, predictions: list[Any], examples: Sequence[dict], features: Features, spec: TaskSpec
    ) -> list[list[str]]:
        """Windows merged back into sentences: one predicted tag per word, each exactly once."""
        labels = self._labels(spec)
        out: list[list[str | None]] = [[None] * len(ex.get("tokens") or []) for ex in examples]
        for pred, k, start in zip(
            predictions, features["example"], features["word_start"], strict=True
        ):
            row = out[k]
            for j, lab in enumerate(pred):
                if row[start + j] is not None:
                    raise DataError("a word was predicted twice", where=examples[k].get("id"))
                row[start + j] = labels[lab]
        for k, row in enumerate(out):
            if any(t is None for t in row):
                raise DataError("a word was never predicted", where=examples[k].get("id"))
        return out  # type: ignore[return-value]

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]:
        preds = self.per_example(predictions, examples, features, spec)
        params = tagging_params(spec)
        gold = [self.gold_tags(ex, spec, params) for ex in examples]
        out: dict[str, float] = {}
        for m in spec.metrics:
            out.update(compute(m, predictions=preds, references=gold))
        return out


class TaggingGoalParams(BaseModel):
    """``metric``: ``token_accuracy`` (share of words tagged as the reference), ``entity_f1``
    (exact-span entity F1 of the sentence, BIO tags) or ``entities_kept`` (share of the reference
    entities still found exactly: ``threshold: 0.5`` means an attack wins once more than half of
    the gold entities are lost). Success: the metric falls below ``threshold``. ``reference``:
    ``gold`` tags, or the model's own ``prediction`` on the clean sentence (robustness of an
    untrained or weak model's output)."""

    model_config = ConfigDict(extra="forbid")
    metric: Literal["token_accuracy", "entity_f1", "entities_kept"] = "token_accuracy"
    threshold: float = Field(0.5, gt=0.0, le=1.0)
    reference: Literal["gold", "prediction"] = "gold"


class TaggingGoal(AttackGoal):
    """Edits stay inside one token and keep it one non-empty token: tags stay aligned."""

    name = "tagging"
    params_model = TaggingGoalParams
    fields = ("tokens",)
    family: Tagging

    @property
    def metric(self) -> str:  # type: ignore[override]
        return self.params.metric

    def decode(self, preds, logits, examples, features):
        return self.family.per_example(preds, examples, features, self.spec)

    def _reference(self, example: dict, clean: list[str]) -> list[str]:
        if self.params.reference == "prediction":
            return list(clean)
        return self.family.gold_tags(example, self.spec)

    def value(self, example, out, clean):
        ref = self._reference(example, clean)
        if self.params.metric == "token_accuracy":
            return sum(p == g for p, g in zip(out, ref, strict=True)) / len(ref) if ref else 1.0
        from seqeval.metrics.sequence_labeling import get_entities

        gold, pred = set(get_entities(list(ref))), set(get_entities(list(out)))
        if not gold:
            return 1.0 if self.params.metric == "entities_kept" or not pred else 0.0
        hit = len(gold & pred)
        if self.params.metric == "entities_kept":
            return hit / len(gold)
        return 2 * hit / (len(gold) + len(pred))

    objective = value

    def success(self, example, out, clean):
        return self.value(example, out, clean) < self.params.threshold

    def skip(self, example, clean):
        if self.params.metric != "token_accuracy":
            from seqeval.metrics.sequence_labeling import get_entities

            if not get_entities(list(self._reference(example, clean))):
                return True  # no entity to lose
        return self.success(example, clean, clean)

    def valid(self, key, before, after):
        return bool(after.strip()) and len(after.split()) == len(before.split())


FAMILIES.register("tagging")(Tagging())
