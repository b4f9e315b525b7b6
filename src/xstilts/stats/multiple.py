"""Multiple-comparison control within a family of tests (one table = one family).

Holm (1979) controls the family-wise error rate under any dependence between the tests and is
the default; Benjamini–Hochberg (1995) controls the false discovery rate (for positively
dependent tests) and is there on request for large exploratory families. Both agree with
``statsmodels.stats.multitest.multipletests`` (``holm`` / ``fdr_bh``), which the tests check.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Correction = Literal["holm", "bh", "none"]
CORRECTIONS: dict[str, str] = {
    "holm": "Holm (family-wise error rate)",
    "bh": "Benjamini–Hochberg (false discovery rate)",
    "none": "no correction",
}


def adjust_pvalues(pvalues, method: Correction = "holm") -> np.ndarray:
    """Adjusted p-values, in the input order; NaN entries stay NaN and do not count as tests."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="mergesort")
    sq = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * sq)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * sq[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}; use holm, bh or none")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
