"""Alignment measures on one layer's sentence vectors (pure functions of tensors).

* ``linear_cka``: linear CKA between two representations of the same n inputs. Standard form
  (Kornblith et al., 2019), in feature space after centering each column:
  ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``; 1.0 for identical (or isotropically scaled /
  rotated) representations. ``debiased=True`` uses the unbiased HSIC estimator (Song et al., 2012;
  as in Nguyen et al., 2021), which removes the upward bias of the standard form when n is not
  much larger than the dimension; it works on n x n Gram matrices.
* ``pair_geometry``: translation-pair cosine vs. the mean cosine of all non-matching pairs (their
  difference is the *margin*) and the mean rank of the true translation (1 = nearest).
* ``retrieval_accuracy`` / ``bucc_f1``: Tatoeba top-1 accuracy and BUCC mining F1, via
  ``xstilts.evaluation`` (same search and metric code as the evaluation steps).
* ``lang_id_accuracy``: held-out accuracy of a multinomial logistic-regression probe (torch
  L-BFGS) that predicts the language from a pooled vector; rows are split by *row index* so that, for parallel inputs,
  no test sentence's translation was seen in training.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
import torch

from xstilts.evaluation.retrieval import l2_normalize

F = TypeVar("F", bound=Callable)


def one_thread(fn: F) -> F:
    """Run on one intra-op thread: these are many small ops, where thread hand-offs cost more
    than they save (100x slower with 2 threads on a busy 2-core machine, measured)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        n = torch.get_num_threads()
        if n == 1:
            return fn(*args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(n)

    return wrapper  # type: ignore[return-value]


def _center(x: torch.Tensor) -> torch.Tensor:
    x = x.to(torch.float64)
    return x - x.mean(0, keepdim=True)


@one_thread
def linear_cka(x: torch.Tensor, y: torch.Tensor, *, debiased: bool = False) -> float:
    """Linear CKA of ``x [n, d1]`` and ``y [n, d2]`` (same rows); float64 throughout."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same inputs: {x.shape[0]} vs {y.shape[0]} rows")
    if debiased:
        return _debiased_cka(x, y)
    xc, yc = _center(x), _center(y)
    num = torch.linalg.matrix_norm(yc.T @ xc) ** 2
    den = torch.linalg.matrix_norm(xc.T @ xc) * torch.linalg.matrix_norm(yc.T @ yc)
    return float(num / den) if den > 0 else float("nan")


def _hsic_unbiased(k: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    n = k.shape[0]
    k, m = k.clone(), m.clone()
    k.fill_diagonal_(0)
    m.fill_diagonal_(0)
    km = k @ m
    return (km.trace() + k.sum() * m.sum() / ((n - 1) * (n - 2)) - 2 * km.sum() / (n - 2)) / (
        n * (n - 3)
    )


def _debiased_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    if x.shape[0] < 4:
        raise ValueError("debiased CKA needs at least 4 inputs")
    k, m = _center(x) @ _center(x).T, _center(y) @ _center(y).T
    den = torch.sqrt(_hsic_unbiased(k, k) * _hsic_unbiased(m, m))
    return float(_hsic_unbiased(k, m) / den) if den > 0 else float("nan")


@one_thread
@torch.no_grad()
def pair_geometry(src: torch.Tensor, tgt: torch.Tensor, *, block: int = 2048) -> dict[str, float]:
    """Geometry and retrieval of row-aligned pairs from one pass over the similarity matrix.

    ``pair_cos`` (mean cos of row i with row i), ``random_cos`` (mean over all i != j),
    ``margin`` (their difference), ``mean_rank`` of the translation among all ``tgt`` rows (1 =
    nearest; ties count in the translation's favour), and top-1 accuracy in both directions with
    ties to the lowest index (as ``evaluation.retrieval.nearest``): ``acc_src2tgt``,
    ``acc_tgt2src``.
    """
    s, t = l2_normalize(src.float()), l2_normalize(tgt.float())
    n = s.shape[0]
    if n < 2 or t.shape[0] != n:
        raise ValueError("pair geometry needs >= 2 row-aligned pairs")
    diag = (s * t).sum(1)
    total = float(s.sum(0).double() @ t.sum(0).double())
    pair = float(diag.double().mean())
    rand = (total - float(diag.double().sum())) / (n * (n - 1))
    ranks = torch.empty(n)
    hit_s2t = torch.empty(n, dtype=torch.bool)
    col_best = torch.full((n,), -float("inf"))
    col_arg = torch.zeros(n, dtype=torch.long)
    for b in range(0, n, block):
        sims = s[b : b + block] @ t.T
        ranks[b : b + block] = 1 + (sims > diag[b : b + block, None]).sum(1).float()
        hit_s2t[b : b + block] = sims.argmax(1) == torch.arange(b, b + sims.shape[0])
        v, a = sims.max(0)  # first maximum within the block
        better = v > col_best  # strictly: an earlier block keeps a tie
        col_best[better], col_arg[better] = v[better], a[better] + b
    return {
        "pair_cos": pair,
        "random_cos": rand,
        "margin": pair - rand,
        "mean_rank": float(ranks.mean()),
        "acc_src2tgt": float(hit_s2t.float().mean()),
        "acc_tgt2src": float((col_arg == torch.arange(n)).float().mean()),
    }


@one_thread
def rowwise_cos(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean cosine of row i of ``a`` with row i of ``b``."""
    return float((l2_normalize(a.float()) * l2_normalize(b.float())).sum(1).double().mean())


def retrieval_accuracy(src: torch.Tensor, tgt: torch.Tensor) -> dict[str, float]:
    """Tatoeba top-1 accuracy, xx -> en (``accuracy``) and both directions."""
    from xstilts.evaluation.metrics_retrieval import tatoeba

    return tatoeba(src, tgt)


@one_thread
def bucc_f1(
    src: torch.Tensor,
    tgt: torch.Tensor,
    src_ids: list[str],
    tgt_ids: list[str],
    src_texts: list[str],
    tgt_texts: list[str],
    gold: list[tuple[str, str]],
    *,
    k: int = 4,
) -> dict[str, float]:
    """LASER/XTREME margin mining (ratio margin, ``max`` mode) scored at the F1-optimal
    threshold of these candidates (the dev-set protocol; XTREME then reuses it on test)."""
    from xstilts.evaluation.metrics_retrieval import bucc2018
    from xstilts.evaluation.retrieval import mine_bucc

    cands = mine_bucc(src, tgt, src_ids, tgt_ids, src_texts, tgt_texts, k=k)
    return bucc2018(cands, gold)


@one_thread
def lang_id_accuracy(
    feats: Mapping[str, torch.Tensor],
    *,
    test_share: float = 0.3,
    seed: int = 0,
    l2: float = 1e-3,
    max_iter: int = 100,
) -> dict[str, float]:
    """Held-out accuracy of a multinomial logistic-regression language probe (and chance).

    Every language contributes the same number of rows (the smallest), split by row index;
    features are standardised on the training rows; full-batch L-BFGS on cross-entropy +
    ``l2 * ||W||^2`` (torch, deterministic, fast on CPU).
    """
    langs = sorted(feats)
    if len(langs) < 2:
        raise ValueError("a language probe needs at least two languages")
    n = min(int(f.shape[0]) for f in feats.values())
    if n < 4:
        raise ValueError("a language probe needs at least 4 rows per language")
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    n_test = max(1, int(round(test_share * n)))
    test_rows, train_rows = perm[:n_test], perm[n_test:]
    xtr = torch.cat([feats[lg][:n][train_rows].double() for lg in langs])
    xte = torch.cat([feats[lg][:n][test_rows].double() for lg in langs])
    ytr = torch.arange(len(langs)).repeat_interleave(len(train_rows))
    yte = torch.arange(len(langs)).repeat_interleave(len(test_rows))
    mu, sd = xtr.mean(0), xtr.std(0).clamp_min(1e-8)
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    w = torch.zeros(xtr.shape[1], len(langs), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(langs), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xtr @ w + b, ytr) + l2 * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        acc = float(((xte @ w + b).argmax(1) == yte).float().mean())
    return {"accuracy": acc, "chance": 1.0 / len(langs), "n_train": len(ytr), "n_test": len(yte)}
