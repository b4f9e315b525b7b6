"""Planning the protocols' steps: the planner asks each protocol which steps it wants and keys them.

``add_retrieve_steps`` (per checkpoint of the grid) and ``add_align_steps`` (after the train steps)
turn a protocol's ``StepRequest``s into content-keyed ``Step``s; everything about what a step
computes lives in the protocol (``evaluation/protocols/retrieval.py``, ``alignment.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.align.protocol import Alignment
from xstilts.evaluation.protocols.base import StepRequest
from xstilts.evaluation.protocols.retrieval import (  # noqa: F401  (re-exported)
    Retrieval,
    embed,
    is_retrieval,
    retrieval_languages,
    retrieval_tasks,
)
from xstilts.experiments.steps import Step
from xstilts.models.encoder import EncoderRef


def add_requests(plan: Any, requests: list[StepRequest]) -> None:
    for r in requests:
        plan.add(Step(r.kind, r.params, deps=r.deps, label=r.label))


def add_retrieve_steps(
    plan: Any,
    cfg: Any,
    common: dict[str, Any],
    ref: EncoderRef,
    mref: dict[str, Any],
    tasks: list[str],
    checkpoint: str,
    *,
    seed: int,
    setup_label: str,
    target: str,
    dep: str | None,
) -> None:
    """The retrieval protocol's steps for this checkpoint (none unless the config asks)."""
    add_requests(
        plan,
        Retrieval.plan_steps(
            cfg,
            common,
            ref,
            mref,
            tasks,
            checkpoint,
            seed=seed,
            setup_label=setup_label,
            target=target,
            dep=dep,
        ),
    )


def add_align_steps(plan: Any, cfg: Any, common: dict[str, Any], ddir: Path | None) -> None:
    """The alignment protocol's steps (no-op without an ``alignment:`` section), after the train
    steps they consume."""
    add_requests(plan, Alignment.plan_steps(cfg, common, ddir, list(plan.steps.values())))
