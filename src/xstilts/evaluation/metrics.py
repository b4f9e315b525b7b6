"""Metrics: each declares its inputs and computes in one function (as Hugging Face ``evaluate``).

A metric is registered with ``@metric("name", inputs=(...))`` and called as
``compute("name", predictions=..., references=..., **extra)``; it returns ``{score_name: value}``
with values in the scale XTREME reports (accuracy and F1 in 0..100 are *not* used: we keep 0..1
internally and the report multiplies by 100).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xstilts.errors import ConfigError

# The registry, its ``@metric`` decorator and ``compute`` live in ``xstilts.scoring`` (tasks call
# metrics by name without importing evaluation/); the metrics below register into it.
from xstilts.scoring import METRICS, Metric, compute, metric  # noqa: F401


@metric("accuracy")
def accuracy(predictions: Sequence, references: Sequence, **_: Any) -> dict[str, float]:
    """Share of equal pairs; unequal lengths are an error (XTREME's evaluate.py asserts them)."""
    if len(predictions) != len(references):
        raise ConfigError(
            f"{len(predictions)} predictions vs {len(references)} references", where="metrics"
        )
    p, r = np.asarray(predictions), np.asarray(references)
    return {"accuracy": float((p == r).mean()) if len(r) else float("nan")}


@metric("f1_macro")
def f1_macro(predictions: Sequence, references: Sequence, **_: Any) -> dict[str, float]:
    """Macro F1 over the labels present in references or predictions."""
    p, r = np.asarray(predictions), np.asarray(references)
    labels = sorted(set(r.tolist()) | set(p.tolist()))
    f1s = []
    for lab in labels:
        tp = float(((p == lab) & (r == lab)).sum())
        fp = float(((p == lab) & (r != lab)).sum())
        fn = float(((p != lab) & (r == lab)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"f1_macro": float(np.mean(f1s)) if f1s else float("nan")}
