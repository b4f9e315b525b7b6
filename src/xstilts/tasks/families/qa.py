"""Extractive (span) QA: SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP.

Features are windows over the context, as XTREME's (BERT's) ``run_squad``: the question (cut to
``max_query_length`` tokens) is paired with consecutive context windows of at most
``max_length`` tokens in all, starting every ``doc_stride`` context tokens (XTREME/BERT meaning:
the step between window starts, not the overlap; the fast tokenizer's ``stride`` overlap is derived
from it per question length). A feature keeps its example's index (``example``), its tokens'
character offsets into the context (``offsets``; ``[-1, -1]`` outside the context) and, for
training, the start/end token of the first gold answer -- the ``[CLS]`` position when the answer is
not wholly inside the window or the question is unanswerable (SQuAD v2).

``decode`` gives per feature the null score (``start[CLS] + end[CLS]``) and the top-k start and end
tokens with their scores and character offsets; ``score`` combines them into spans
(``start <= end``, at most ``max_answer_length`` tokens, in the same window), merges the windows of
each example (n-best over all its windows), and for v2 tasks (``allow_null``) answers ``""`` when the
minimum null score beats the best span by more than ``null_threshold``. The answer text is the
context between the span's character offsets.

Family parameters, from the task's ``defaults``: ``doc_stride`` (128), ``max_query_length`` (64),
``max_answer_length`` (30), ``n_best`` (20), ``allow_null`` (false; SQuAD v2: true),
``null_threshold`` (0.0). The task's metric (``squad``, or ``mlqa`` with the context language from
the example's ``answer_language``) gives ``f1``, ``exact_match`` and ``score`` = (F1 + EM) / 2;
for v2, unanswerable questions count as right exactly when the prediction is ``""`` (as in the
official v2.0 script).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xstilts.errors import ConfigError, DataError
from xstilts.evaluation.metrics import compute
from xstilts.perturb.goals import AttackGoal, new_offset
from xstilts.registry import pydantic_message
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec

TOP_K = 20  # start/end candidates kept per feature by ``decode`` (n_best is capped by it)


class QAParams(BaseModel):
    model_config = ConfigDict(extra="ignore")  # ``defaults`` also holds hyperparameters

    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best: int = 20
    allow_null: bool = False
    null_threshold: float = 0.0


def qa_params(spec: TaskSpec) -> QAParams:
    try:
        p = QAParams.model_validate(spec.defaults)
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where=f"task {spec.name}.defaults") from None
    for k in ("doc_stride", "max_query_length", "max_answer_length", "n_best"):
        if getattr(p, k) < 1:
            raise ConfigError(f"{k} must be >= 1", where=f"task {spec.name}.defaults.{k}")
    return p


def answers_of(ex: dict) -> list[dict[str, Any]]:
    """Gold answers as ``[{"text", "answer_start"}]`` (also from HF's dict of lists)."""
    raw = ex.get("answers") or []
    if isinstance(raw, dict):
        raw = [
            {"text": t, "answer_start": s}
            for t, s in zip(raw.get("text") or [], raw.get("answer_start") or [], strict=False)
        ]
    if ex.get("is_impossible"):
        return []
    return [a for a in raw if isinstance(a, dict) and a.get("text")]


def char_to_tokens(
    offsets: list[list[int]], ctx: tuple[int, int], start_char: int, end_char: int
) -> tuple[int, int] | None:
    """Token span ``[s, e]`` covering characters ``[start_char, end_char)``, or None if the
    window ``ctx`` (first and last context token) does not wholly contain them."""
    first, last = ctx
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return None
    s = first
    while s <= last and offsets[s][0] <= start_char:
        s += 1
    e = last
    while e >= first and offsets[e][1] >= end_char:
        e -= 1
    s, e = s - 1, e + 1
    return (s, e) if s <= e else None


def best_spans(
    feature_preds: Sequence[dict[str, Any]], max_answer_length: int, n_best: int
) -> tuple[list[tuple[float, int, int]], float]:
    """N-best ``(score, char_start, char_end)`` over an example's windows, and its null score.

    A span pairs a start and an end of the same window with ``start <= end`` and at most
    ``max_answer_length`` tokens. The null score is the minimum over windows (as HF ``run_qa``).
    """
    cands: list[tuple[float, int, int]] = []
    null = float("inf")
    for fp in feature_preds:
        null = min(null, float(fp["null"]))
        for s_tok, s_score, s_char in fp["starts"]:
            for e_tok, e_score, e_char in fp["ends"]:
                if e_tok < s_tok or e_tok - s_tok + 1 > max_answer_length or e_char < s_char:
                    continue
                cands.append((float(s_score) + float(e_score), int(s_char), int(e_char)))
    cands.sort(key=lambda c: (-c[0], c[1], c[2]))
    seen: set[tuple[int, int]] = set()
    out = []
    for c in cands:  # the same characters from two overlapping windows count once
        if (c[1], c[2]) in seen:
            continue
        seen.add((c[1], c[2]))
        out.append(c)
        if len(out) >= n_best:
            break
    return out, null


class QA:
    name = "qa"
    head = "span_extraction"

    def attack_goal(self, params: dict[str, Any], spec: TaskSpec | None) -> AttackGoal:
        """Attacks push the predicted span's F1 below a threshold without touching an answer."""
        goal = QAGoal(params, spec)
        goal.family = self
        return goal

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    # --- features ----------------------------------------------------------------------------

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        p = qa_params(spec)
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError("extractive QA needs a fast tokenizer (offsets)", where="model")
        specials = tokenizer.num_special_tokens_to_add(pair=True)
        questions = [str(ex.get("question") or "").lstrip() for ex in examples]
        contexts = [str(ex.get("context") or "") for ex in examples]
        qlens = self._cut_questions(questions, tokenizer, p.max_query_length)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, q in enumerate(qlens):
            room = max_length - specials - q
            if room < 2:
                raise ConfigError(
                    f"max_length {max_length} leaves {room} context tokens after a {q}-token "
                    "question; raise max_length or lower max_query_length",
                    where="max_length",
                )
            step = min(p.doc_stride, room)
            groups[room - step].append(i)  # the fast tokenizer's overlap between windows
        per_example: list[list[dict[str, Any]]] = [[] for _ in examples]
        cls_id = tokenizer.cls_token_id
        for overlap, idx in sorted(groups.items()):
            enc = tokenizer(
                [questions[i] for i in idx],
                [contexts[i] for i in idx],
                truncation="only_second",
                max_length=max_length,
                stride=overlap,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            for j, local in enumerate(enc["overflow_to_sample_mapping"]):
                k = idx[local]
                seq = enc.sequence_ids(j)
                ids = enc["input_ids"][j]
                offs = [
                    [int(o[0]), int(o[1])] if seq[t] == 1 else [-1, -1]
                    for t, o in enumerate(enc["offset_mapping"][j])
                ]
                ctx_tokens = [t for t, s in enumerate(seq) if s == 1]
                cls = ids.index(cls_id) if cls_id in ids else 0
                start = end = cls
                golds = answers_of(examples[k])
                if golds and ctx_tokens:
                    a = golds[0]
                    sc = int(a["answer_start"])
                    span = char_to_tokens(
                        offs, (ctx_tokens[0], ctx_tokens[-1]), sc, sc + len(a["text"])
                    )
                    if span is not None:
                        start, end = span
                row = {"input_ids": ids, "offsets": offs, "start_positions": start}
                row.update({"end_positions": end, "cls_index": cls, "example": k})
                if "token_type_ids" in enc:
                    row["token_type_ids"] = enc["token_type_ids"][j]
                per_example[k].append(row)
        rows = [r for rs in per_example for r in rs]
        cols = ["input_ids", "offsets", "start_positions", "end_positions", "cls_index", "example"]
        if rows and "token_type_ids" in rows[0]:
            cols.append("token_type_ids")
        return {c: [r[c] for r in rows] for c in cols}

    @staticmethod
    def _cut_questions(questions: list[str], tokenizer: Any, max_q: int) -> list[int]:
        """Cut questions longer than ``max_q`` tokens (in place); their token counts."""
        if not questions:
            return []
        enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        cut = []
        for i, ids in enumerate(enc["input_ids"]):
            if len(ids) > max_q:
                questions[i] = questions[i][: enc["offset_mapping"][i][max_q - 1][1]]
                cut.append(i)
        lens = [len(ids) for ids in enc["input_ids"]]
        if cut:
            again = tokenizer([questions[i] for i in cut], add_special_tokens=False)
            for i, ids in zip(cut, again["input_ids"], strict=True):
                lens[i] = len(ids)
        return lens

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        offsets = torch.full((len(rows), ids.size(1), 2), -1, dtype=torch.long)
        for i, r in enumerate(rows):
            offsets[i, : len(r["offsets"])] = torch.as_tensor(r["offsets"], dtype=torch.long)
        batch = {
            "input_ids": ids,
            "attention_mask": mask,
            "offsets": offsets,
            "cls_index": torch.as_tensor([r["cls_index"] for r in rows], dtype=torch.long),
            "start_positions": torch.as_tensor([r["start_positions"] for r in rows]),
            "end_positions": torch.as_tensor([r["end_positions"] for r in rows]),
        }
        if "token_type_ids" in rows[0]:
            batch["token_type_ids"], _ = pad_ids([r["token_type_ids"] for r in rows], 0)
        return batch

    # --- training and decoding ---------------------------------------------------------------

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = logits.float()
        start = F.cross_entropy(logits[..., 0], batch["start_positions"].long())
        end = F.cross_entropy(logits[..., 1], batch["end_positions"].long())
        return (start + end) / 2

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per feature: ``{"null", "starts": [[tok, score, char]], "ends": [[tok, score, char]]}``."""
        logits = logits.float().cpu()
        offsets = batch["offsets"].cpu()
        cls = batch["cls_index"].cpu()
        out = []
        for i in range(logits.size(0)):
            ctx = offsets[i, :, 0] >= 0
            starts, ends = logits[i, :, 0], logits[i, :, 1]
            null = float(starts[cls[i]] + ends[cls[i]])
            k = min(TOP_K, int(ctx.sum()))
            item: dict[str, Any] = {"null": null, "starts": [], "ends": []}
            if k > 0:
                neg = torch.finfo(torch.float32).min
                for key, col, vals in (("starts", 0, starts), ("ends", 1, ends)):
                    top = torch.topk(vals.masked_fill(~ctx, neg), k)
                    item[key] = [
                        [int(t), float(s), int(offsets[i, t, col])]
                        for s, t in zip(top.values.tolist(), top.indices.tolist(), strict=True)
                    ]
            out.append(item)
        return out

    def per_example(
        self, predictions: list[Any], examples: Sequence[dict], features: Features, spec: TaskSpec
    ) -> list[str]:
        """The answer text of each example (``""``: no answer) after the cross-window n-best."""
        p = qa_params(spec)
        by_ex: list[list[dict[str, Any]]] = [[] for _ in examples]
        for pred, k in zip(predictions, features["example"], strict=True):
            by_ex[k].append(pred)
        out = []
        for ex, preds in zip(examples, by_ex, strict=True):
            spans, null = best_spans(preds, p.max_answer_length, min(p.n_best, TOP_K))
            context = str(ex.get("context") or "")
            if not spans or (p.allow_null and null > spans[0][0] + p.null_threshold):
                out.append("")
            else:
                out.append(context[spans[0][1] : spans[0][2]])
        return out

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]:
        answers = self.per_example(predictions, examples, features, spec)
        preds = {str(ex["id"]): a for ex, a in zip(examples, answers, strict=True)}
        if len(preds) != len(examples):
            raise DataError(f"question ids repeat in {spec.name} {lang}", where=spec.name)
        refs: dict[str, list[str]] = {}
        null_right = null_n = 0
        for ex, ans in zip(examples, answers, strict=True):
            golds = answers_of(ex)
            if golds:
                refs[str(ex["id"])] = [g["text"] for g in golds]
            elif ex.get("is_impossible") or qa_params(spec).allow_null:
                null_n += 1
                null_right += ans == ""
            else:
                raise DataError(
                    "question without a gold answer (unlabelled file?)", where=str(ex.get("id"))
                )
        answer_lang = next(
            (ex["answer_language"] for ex in examples if ex.get("answer_language")),
            lang.split("-")[0],
        )
        out: dict[str, float] = {}
        for m in spec.metrics:
            res = (
                compute(m, predictions=preds, references=refs, answer_language=answer_lang)
                if refs
                else {"f1": 0.0, "exact_match": 0.0, "score": 0.0}
            )
            if null_n:  # SQuAD v2: unanswerable questions are right iff the answer is empty
                n = len(refs) + null_n
                for key in ("f1", "exact_match"):
                    res[key] = (res[key] * len(refs) + null_right) / n
                res["score"] = (res["f1"] + res["exact_match"]) / 2
            out.update(res)
        return out


class QAGoalParams(BaseModel):
    """Success: the F1 of the predicted span with the ``reference`` answers (``gold``, or the
    model's own clean ``prediction``) falls below ``threshold``."""

    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.5, gt=0.0, le=1.0)
    reference: Literal["gold", "prediction"] = "gold"


class QAGoal(AttackGoal):
    """Edits stay outside every gold answer span; answer offsets move with the edits before
    them, so each gold answer is found at its mapped offset in the adversarial context."""

    name = "qa_span_f1"
    params_model = QAGoalParams
    fields = ("question", "context")
    metric = "f1"
    decodes_text = True
    family: QA

    def decode(self, preds, logits, examples, features):
        return self.family.per_example(preds, examples, features, self.spec)

    def value(self, example, out, clean):
        from xstilts.evaluation.metrics_qa import mlqa_f1, squad_f1

        refs = (
            [clean]
            if self.params.reference == "prediction"
            else [a["text"] for a in answers_of(example)]
        )
        if not refs:
            return float(out == "")
        lang = example.get("answer_language") or self.lang.split("-")[0]
        if self.spec is not None and "mlqa" in self.spec.metrics and lang:
            return max(mlqa_f1(out, r, lang) for r in refs)
        return max(squad_f1(out, r) for r in refs)

    objective = value

    def success(self, example, out, clean):
        return self.value(example, out, clean) < self.params.threshold

    def frozen(self, example, key):
        if key != "context":
            return []
        return [
            (int(a["answer_start"]), int(a["answer_start"]) + len(a["text"]))
            for a in answers_of(example)
        ]

    def remap(self, original, new, edits):
        if "context" not in edits or not answers_of(original):
            return
        new["answers"] = [
            {**a, "answer_start": new_offset(int(a["answer_start"]), edits["context"])}
            for a in answers_of(original)
        ]


FAMILIES.register("qa")(QA())
