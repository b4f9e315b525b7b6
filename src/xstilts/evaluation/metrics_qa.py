"""Extractive-QA metrics exactly as the official scripts score, on a 0..1 scale.

* ``squad``: SQuAD v1.1 ``evaluate-v1.1.py`` (XTREME's ``third_party/evaluate_squad.py``), used for
  XQuAD and TyDiQA-GoldP.
* ``mlqa``: MLQA's ``mlqa_evaluation_v1.py``: language-aware punctuation (all Unicode ``P*``
  categories plus ASCII ``string.punctuation``), per-language articles, and mixed segmentation for
  Chinese (each CJK character in U+4E00..U+9FA5 is its own token).

The official scripts print 100x values; we keep 0..1 like every xstilts metric (the report
multiplies by 100). Like the scripts' ``evaluate`` (XTREME ``third_party/evaluate_squad.py`` and
``evaluate_mlqa.py``, commit 838c13b6), every reference question counts, a repeated id as often as it
occurs; an id is looked up in the predictions as it is (``qa['id'] in predictions``: an integer id
matches an integer key, not its string); a question without a prediction scores 0 and predictions
for unknown ids are ignored.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import metric

# --- SQuAD v1.1 ------------------------------------------------------------------------------

_SQUAD_PUNCT = frozenset(string.punctuation)
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1: lower, drop ASCII punctuation, drop a/an/the, collapse whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _SQUAD_PUNCT)
    s = _SQUAD_ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction: str, ground_truth: str) -> float:
    return _token_f1(normalize_answer(prediction).split(), normalize_answer(ground_truth).split())


def squad_exact(prediction: str, ground_truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


# --- MLQA ------------------------------------------------------------------------------------

WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
MIXED_SEGMENTATION_LANGS = ("zh",)
MLQA_LANGS = WHITESPACE_LANGS + MIXED_SEGMENTATION_LANGS

_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # verbatim from the script: the first alternative can never match ('^' after text), so every
    # 'ال' anywhere in a word is replaced by a space.
    "ar": re.compile(r"\sال^|ال"),
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=1)
def mlqa_punctuation() -> frozenset[str]:
    """``{chr(i) for i in range(sys.maxunicode) if category startswith 'P'} | string.punctuation``."""
    return frozenset(
        chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")
    ) | frozenset(string.punctuation)


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's Chinese tokenisation: CJK characters and punctuation alone, other runs by spaces."""
    punct = mlqa_punctuation()
    out: list[str] = []
    temp = ""
    for ch in text:
        if _CJK.search(ch) or ch in punct:
            if temp != "":
                out.extend(temp.split())
                temp = ""
            out.append(ch)
        else:
            temp += ch
    if temp != "":
        out.extend(temp.split())
    return out


def _check_lang(lang: str) -> None:
    if lang not in MLQA_LANGS:
        raise ConfigError(
            f"MLQA scoring knows languages {', '.join(MLQA_LANGS)}, not {lang!r}",
            where="metrics.mlqa.answer_language",
        )


def mlqa_normalize(s: str, lang: str) -> str:
    """MLQA ``normalize_answer(s, lang)``: lower, drop punctuation, articles, re-tokenise."""
    _check_lang(lang)
    punct = mlqa_punctuation()
    s = s.lower()
    s = "".join(ch for ch in s if ch not in punct)
    if lang in _ARTICLES:
        s = _ARTICLES[lang].sub(" ", s)
    tokens = s.split() if lang in WHITESPACE_LANGS else mixed_segmentation(s)
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_f1(prediction: str, ground_truth: str, lang: str) -> float:
    p, g = mlqa_normalize(prediction, lang).split(), mlqa_normalize(ground_truth, lang).split()
    return _token_f1(p, g)


def mlqa_exact(prediction: str, ground_truth: str, lang: str) -> float:
    return float(mlqa_normalize(prediction, lang) == mlqa_normalize(ground_truth, lang))


# --- shared evaluation loop ------------------------------------------------------------------


def gold_answers(
    references: Mapping[Any, Any] | Sequence[Mapping[str, Any]],
) -> list[tuple[Any, list[str]]]:
    """``[(id, [gold texts])]`` in reference order, repeats kept, from a dict (id -> texts) or a
    list of canonical QA examples (``{"id", "answers"}``)."""
    if isinstance(references, Mapping):
        items: Iterable[tuple[Any, Any]] = references.items()
    else:
        items = []
        for ex in references:
            if not isinstance(ex, Mapping) or "id" not in ex or "answers" not in ex:
                raise ConfigError(
                    "QA references must be QA examples with id and answers", where="metrics"
                )
            items.append((ex["id"], ex["answers"]))  # type: ignore[attr-defined]
    out: list[tuple[Any, list[str]]] = []
    for qid, golds in items:
        if isinstance(golds, str):
            golds = [golds]
        texts = [g["text"] if isinstance(g, Mapping) else g for g in golds]
        if not texts:
            # evaluate-v1.1.py would crash on max() of nothing; unanswerable questions need v2 scoring
            raise ConfigError(f"question {qid!r} has no gold answers", where="metrics")
        if not all(isinstance(t, str) for t in texts):
            raise ConfigError(f"question {qid!r}: gold answers must be strings", where="metrics")
        out.append((qid, texts))
    return out


def _evaluate(
    predictions: Mapping[str, str],
    references: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    f1_fn: Callable[[str, str], float],
    em_fn: Callable[[str, str], float],
) -> dict[str, float]:
    if not isinstance(predictions, Mapping):
        raise ConfigError("QA predictions must be a mapping id -> answer text", where="metrics")
    gold = gold_answers(references)
    if not gold:
        raise ConfigError("no reference questions to score", where="metrics")
    f1 = em = 0.0
    for qid, golds in gold:
        if qid not in predictions:
            continue  # "Unanswered question ... will receive score 0."
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise ConfigError(f"prediction for {qid!r} must be a string", where="metrics")
        em += max(em_fn(pred, g) for g in golds)
        f1 += max(f1_fn(pred, g) for g in golds)
    n = len(gold)
    f1, em = f1 / n, em / n
    return {"f1": f1, "exact_match": em, "score": (f1 + em) / 2}


@metric("squad", inputs=("predictions", "references"), main="f1")
def squad(predictions: Mapping[str, str], references: Any, **_: Any) -> dict[str, float]:
    """SQuAD v1.1 F1 / EM (max over gold answers), 0..1; ``score`` = (f1 + exact_match) / 2."""
    return _evaluate(predictions, references, squad_f1, squad_exact)


@metric("mlqa", inputs=("predictions", "references", "answer_language"), main="f1")
def mlqa(
    predictions: Mapping[str, str], references: Any, answer_language: str, **_: Any
) -> dict[str, float]:
    """MLQA F1 / EM with the context (answer) language's normalisation, 0..1."""
    _check_lang(answer_language)
    return _evaluate(
        predictions,
        references,
        lambda p, g: mlqa_f1(p, g, answer_language),
        lambda p, g: mlqa_exact(p, g, answer_language),
    )
