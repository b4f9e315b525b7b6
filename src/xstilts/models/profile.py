"""Per-model conventions for sentence retrieval (layer, pooling, max length, prefix), declared once.

For the models XTREME evaluated they are XTREME's (google-research/xtreme, commit 838c13b6):
``third_party/evaluate_retrieval.py`` keeps the last ``--num_layers`` hidden states
(``all_layer_outputs[-num_layers:]``, where hidden state 0 is the embeddings) and indexes them with
``--specific_layer``, so the hidden state used is ``(L + 1) - num_layers + specific_layer`` for an
encoder of ``L`` layers. ``scripts/run_bucc2018.sh`` passes ``--specific_layer 7 --pool_type cls``
and no ``--num_layers`` (default 12); ``scripts/run_tatoeba.sh`` passes ``--num_layers $NLAYER
--specific_layer $LAYER`` (mBERT 12 / 7, XLM-R 24 / 13, XLM 12 / 7) and no ``--pool_type``
(default ``mean``: over the attention mask, special tokens included). Both use
``--max_seq_length 512``. ``cls`` pooling is the first token's hidden state (not the pooler).

* mBERT (L=12): hidden state 8 for BUCC (first token) and Tatoeba (mean).
* XLM-R large (L=24): BUCC hidden state 25 - 12 + 7 = 20 (first token); Tatoeba 25 - 24 + 13 = 14.
* XLM-100 (``xlm-mlm-100-1280``, L=16): hidden state 17 - 12 + 7 = 12 for both.
* XLM-R base is not runnable with XTREME's scripts (their xlm-roberta-base branch sets 1024
  dimensions and layer 13 of 24); the mBERT depth (hidden state 8 of 12) is used.
* Sentence encoders trained for embeddings (e5, LaBSE) use their last layer, mean pooling, and e5
  its ``query: `` prefix.

Any other model (and e5, LaBSE): last layer, mean pooling, 128 tokens (xstilts' earlier default).
A config's ``retrieval.layer`` / ``prefix`` / ``max_length`` override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Pooling = Literal["mean", "first"]


@dataclass(frozen=True)
class RetrievalConvention:
    """How a model embeds sentences for one retrieval task kind."""

    layer: int  # hidden-state index (0 = embeddings); negative counts from the top
    pooling: Pooling = "mean"
    max_length: int = 512  # XTREME's --max_seq_length
    prefix: str = ""


_E5 = {"*": RetrievalConvention(-1, "mean", 128, "query: ")}
# (substring of the lower-cased model name, task kind -> convention; "*" for every other kind).
# First match wins. Task kinds: the retrieval kind (evaluation/protocols/retrieval_kinds/: tatoeba,
# bucc2018, ranking).
PROFILES: list[tuple[str, dict[str, RetrievalConvention]]] = [
    ("multilingual-e5", _E5),
    ("e5-", _E5),
    ("labse", {"*": RetrievalConvention(-1, "mean", 128)}),
    (
        "bert-base-multilingual",
        {"bucc2018": RetrievalConvention(8, "first"), "*": RetrievalConvention(8, "mean")},
    ),
    (
        "xlm-roberta-large",
        {"bucc2018": RetrievalConvention(20, "first"), "*": RetrievalConvention(14, "mean")},
    ),
    (
        "xlm-roberta-base",
        {"bucc2018": RetrievalConvention(8, "first"), "*": RetrievalConvention(8, "mean")},
    ),
    (
        "xlm-mlm-100-1280",
        {"bucc2018": RetrievalConvention(12, "first"), "*": RetrievalConvention(12, "mean")},
    ),
]
DEFAULT = RetrievalConvention(-1, "mean", 128)


def retrieval_convention(model_name: str, kind: str = "") -> RetrievalConvention:
    """The declared convention of ``model_name`` for a retrieval task kind (unknown: ``DEFAULT``)."""
    low = model_name.lower()
    for pat, by_kind in PROFILES:
        if pat in low:
            return by_kind.get(kind) or by_kind["*"]
    return DEFAULT


def default_layer(model_name: str, num_layers: int, kind: str = "") -> int:
    """The hidden-state index used when the config names none (negative: from the top)."""
    layer = retrieval_convention(model_name, kind).layer
    return layer if layer >= 0 else num_layers + 1 + layer


def default_prefix(model_name: str, kind: str = "") -> str:
    return retrieval_convention(model_name, kind).prefix
