"""Head layouts: how an xstilts head maps onto a ``transformers`` task class, one entry per head.

Each entry takes the trained head, its params and the encoder's ``model_type`` and returns the
``AutoModelFor...`` class, the config fields it needs and the head's tensors under that class's
names, or a reason why no standard class computes the same function (a mean-pooled classifier,
say: BERT's sequence classifier pools the first token). The exporter checks every mapping by
comparing logits on a probe input, so an entry that guesses wrong fails loudly, never silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from xstilts.registry import Registry


@dataclass
class Layout:
    """A head as a transformers class: its auto class, config fields and tensors by HF name."""

    auto_class: str
    config: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # "{base}" = base model prefix


@dataclass
class NoLayout:
    """No standard transformers class computes this head: why, in one sentence."""

    reason: str


LayoutFn = Callable[[torch.nn.Module, dict[str, Any], str, list[str] | None], Layout | NoLayout]
LAYOUTS: Registry[LayoutFn] = Registry("head layout")

# Encoders whose ``ForSequenceClassification`` is BERT's (pooler dense+tanh on the first token,
# then a linear layer) or RoBERTa's (``classifier.dense`` + tanh + ``classifier.out_proj``).
BERT_POOLER = {"bert"}
ROBERTA_CLASSIFIER = {"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"}
TOKEN_CLASSIFIER = BERT_POOLER | ROBERTA_CLASSIFIER | {"electra", "distilbert", "deberta-v2"}
QA_OUTPUTS = BERT_POOLER | ROBERTA_CLASSIFIER | {"electra", "distilbert", "deberta-v2"}


def _label_config(labels: list[str] | None, n: int) -> dict[str, Any]:
    names = labels if labels and len(labels) == n else [f"LABEL_{i}" for i in range(n)]
    return {
        "num_labels": n,
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }


def _pooled(head, params, model_type, labels, *, regression: bool) -> Layout | NoLayout:
    """dense+tanh on the first token, then a linear layer: BERT's pooler or RoBERTa's head."""
    if params.get("pooling", "first") != "first":
        return NoLayout(
            f"the head pools the {params.get('pooling')} token(s); transformers' sequence "
            "classifiers pool the first token"
        )
    n = head.out.out_features
    cfg = (
        {"num_labels": 1, "problem_type": "regression"} if regression else _label_config(labels, n)
    )
    if model_type in BERT_POOLER:
        t = {
            "{base}.pooler.dense.weight": head.dense.weight,
            "{base}.pooler.dense.bias": head.dense.bias,
            "classifier.weight": head.out.weight,
            "classifier.bias": head.out.bias,
        }
    elif model_type in ROBERTA_CLASSIFIER:
        t = {
            "classifier.dense.weight": head.dense.weight,
            "classifier.dense.bias": head.dense.bias,
            "classifier.out_proj.weight": head.out.weight,
            "classifier.out_proj.bias": head.out.bias,
        }
    else:
        return NoLayout(f"no known sequence-classification layout for model type {model_type!r}")
    return Layout("AutoModelForSequenceClassification", cfg, t)


@LAYOUTS.register("classification")
def classification(head, params, model_type, labels) -> Layout | NoLayout:
    """Sequence classification (``AutoModelForSequenceClassification``)."""
    return _pooled(head, params, model_type, labels, regression=False)


@LAYOUTS.register("regression")
def regression(head, params, model_type, labels) -> Layout | NoLayout:
    """One real number (``AutoModelForSequenceClassification``, ``problem_type: regression``)."""
    return _pooled(head, params, model_type, labels, regression=True)


@LAYOUTS.register("token_tagging")
def token_tagging(head, params, model_type, labels) -> Layout | NoLayout:
    """A linear layer over every token state (``AutoModelForTokenClassification``)."""
    if model_type not in TOKEN_CLASSIFIER:
        return NoLayout(f"no known token-classification layout for model type {model_type!r}")
    n = head.out.out_features
    return Layout(
        "AutoModelForTokenClassification",
        _label_config(params.get("labels") or labels, n),
        {"classifier.weight": head.out.weight, "classifier.bias": head.out.bias},
    )


@LAYOUTS.register("span_extraction")
def span_extraction(head, params, model_type, labels) -> Layout | NoLayout:
    """(start, end) logits per token (``AutoModelForQuestionAnswering``)."""
    if model_type not in QA_OUTPUTS:
        return NoLayout(f"no known question-answering layout for model type {model_type!r}")
    return Layout(
        "AutoModelForQuestionAnswering",
        {},
        {"qa_outputs.weight": head.out.weight, "qa_outputs.bias": head.out.bias},
    )


@LAYOUTS.register("multiple_choice")
def multiple_choice(head, params, model_type, labels) -> Layout | NoLayout:
    """One score per choice; transformers' multiple-choice classes put a dense+tanh pooler
    before the score layer, which this head does not have."""
    return NoLayout(
        "transformers' multiple-choice classes score a dense+tanh pooled vector; this head "
        "scores the pooled vector directly"
    )


@LAYOUTS.register("mlm")
def mlm(head, params, model_type, labels) -> Layout | NoLayout:
    """The masked-LM head is an intermediate-training device: the encoder is what transfers."""
    return NoLayout("a masked-LM head is exported with the bare encoder")


def layout_for(kind: str, head, params, model_type: str, labels) -> Layout | NoLayout:
    if kind not in LAYOUTS:
        return NoLayout(f"no transformers layout for head kind {kind!r}")
    return LAYOUTS.get(kind).obj(head, params, model_type, labels)
