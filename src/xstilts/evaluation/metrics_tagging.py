"""Token-tagging metrics as XTREME scores PAN-X and UD-POS.

XTREME scores both with seqeval's chunk F1: ``third_party/run_tag.py`` reports
``seqeval.metrics.f1_score(out_label_list, preds_list)`` and the benchmark's ``evaluate.py``
(google-research/xtreme, commit 838c13b6, ``f1()`` for ``panx`` and ``udpos``) calls
``seqeval.metrics.f1_score / precision_score / recall_score``. For POS tags this is chunk F1 over
tags read as if they were IOB: the first character is the chunk tag and runs of the same tag merge
(two adjacent NOUNs are one "chunk"), which is why XTREME's POS "F1" is not token accuracy.
XTREME's ``install_tools.sh`` installs an unpinned seqeval, which in 2020 was 0.0.12; its own
``evaluate_test.py`` expects UD-POS F1 70.21746 on its mock submission, which is 0.0.12's figure.

* ``seqeval_v0``: seqeval 0.0.12, the scorer of XTREME's published numbers and the one UD-POS uses.
  A chunk's type is ``tag.split('-')[-1]`` (the whole POS tag).
* ``seqeval``: the installed seqeval (1.x) in default mode. It types a chunk by
  ``tag[1:].split('-', 1)[-1]``, so for dash-less POS tags CCONJ and SCONJ share the type "CONJ":
  a CCONJ predicted for a SCONJ counts as right, and a CCONJ directly before a SCONJ is not closed
  (the SCONJ, an "S" tag, restarts the chunk without ending it), so it disappears from both the
  gold and the predicted chunk sets. On real UD files this puts 1.x 0.1-1.0 points above XTREME.
  For IOB tags (PAN-X) both versions give identical chunks.
* ``token_accuracy``: plain per-token accuracy.

All values 0..1; an empty prediction/reference set scores 0 (seqeval's zero_division default).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

from xstilts.errors import ConfigError
from xstilts.evaluation.metrics import metric


def _check(predictions: Any, references: Any) -> tuple[list[list[str]], list[list[str]]]:
    """Validate list-of-tag-lists inputs of equal shape."""
    if not isinstance(predictions, Sequence) or not isinstance(references, Sequence):
        raise ConfigError("tagging metrics take lists of tag lists", where="metrics")
    if len(predictions) != len(references):
        raise ConfigError(
            f"{len(predictions)} predicted vs {len(references)} reference sentences",
            where="metrics",
        )
    preds, refs = [], []
    for i, (p, r) in enumerate(zip(predictions, references, strict=True)):
        if isinstance(p, str) or isinstance(r, str):
            raise ConfigError(
                f"sentence {i}: expected a list of tags, got a string", where="metrics"
            )
        p, r = list(p), list(r)
        if len(p) != len(r):
            raise ConfigError(
                f"sentence {i}: {len(p)} predicted vs {len(r)} reference tags", where="metrics"
            )
        for t in (*p, *r):
            if not isinstance(t, str) or t == "":
                raise ConfigError(f"sentence {i}: tags must be non-empty strings", where="metrics")
        preds.append(p)
        refs.append(r)
    return preds, refs


# --- seqeval's chunking (shared by 0.0.x and 1.x; only the chunk type differs) ----------------


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        prev_tag in ("E", "S")
        or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
        or (prev_tag not in ("O", ".") and prev_type != type_)
    )


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        tag in ("B", "S")
        or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
        or (tag not in ("O", ".") and prev_type != type_)
    )


def get_entities(
    sentences: Sequence[Sequence[str]], type_rule: Literal["v1", "v0"] = "v1"
) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` chunks over the sentences joined with ``O`` separators (as seqeval)."""
    seq = [t for s in sentences for t in [*s, "O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for i, chunk in enumerate([*seq, "O"]):
        tag = chunk[0]
        if type_rule == "v1":
            type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        else:
            type_ = chunk.split("-")[-1]
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _prf(true: set, pred: set) -> dict[str, float]:
    correct = len(true & pred)
    p = correct / len(pred) if pred else 0.0
    r = correct / len(true) if true else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"f1": f1, "precision": p, "recall": r}


@metric("seqeval", inputs=("predictions", "references"), main="f1")
def seqeval_metric(predictions: Any, references: Any, **_: Any) -> dict[str, float]:
    """seqeval 1.x (default mode) micro chunk F1 / precision / recall; PAN-X's scorer.

    Equal to XTREME's (seqeval 0.0.12) on IOB tags; not on POS tags (see ``seqeval_v0``).
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    preds, refs = _check(predictions, references)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "NOUN seems not to be NE tag", zero-division notes
        return {
            "f1": float(f1_score(refs, preds, zero_division=0)),
            "precision": float(precision_score(refs, preds, zero_division=0)),
            "recall": float(recall_score(refs, preds, zero_division=0)),
        }


@metric("seqeval_v0", inputs=("predictions", "references"), main="f1")
def seqeval_v0(predictions: Any, references: Any, **_: Any) -> dict[str, float]:
    """seqeval 0.0.12 chunk F1 / precision / recall: XTREME's UD-POS score (``evaluate.py``)."""
    preds, refs = _check(predictions, references)
    return _prf(set(get_entities(refs, "v0")), set(get_entities(preds, "v0")))


@metric("token_accuracy", inputs=("predictions", "references"), main="accuracy")
def token_accuracy(predictions: Any, references: Any, **_: Any) -> dict[str, float]:
    """Fraction of tokens whose tag is right (over all tokens of all sentences)."""
    preds, refs = _check(predictions, references)
    total = sum(len(r) for r in refs)
    right = sum(
        p == r for ps, rs in zip(preds, refs, strict=True) for p, r in zip(ps, rs, strict=True)
    )
    return {"accuracy": right / total if total else float("nan")}
