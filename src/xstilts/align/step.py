"""The ``align`` step kind: per-layer alignment probes of the grid's checkpoints."""

from __future__ import annotations

from pathlib import Path

from xstilts.align.config import AlignmentConfig
from xstilts.align.hidden import Checkpoint
from xstilts.align.run import run_alignment
from xstilts.experiments.results import ResultRow
from xstilts.experiments.steps import STEP_KINDS, Step, StepContext
from xstilts.models.encoder import EncoderRef


@STEP_KINDS.register("align")
def run_align(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Layer-wise retrieval, pair geometry, CKA and language-ID probes (see ``align.run``)."""
    p = step.params
    acfg = AlignmentConfig.model_validate(p["alignment"])
    ref = EncoderRef(**p["model"])
    cks = []
    for c in p["checkpoints"]:
        path = ctx.inputs.get(f"ckpt:{c['label']}")
        cks.append(
            Checkpoint(
                c["label"],
                ref,
                Path(path) if path is not None else None,
                intermediate=c["intermediate"],
                target=c["target"],
                trust_remote_code=p.get("trust_remote_code", False),
                allow_pickle=p.get("allow_pickle", False),
            )
        )
    n_units = sum(len(v) for v in p["languages"].values())
    bar = ctx.progress(step.label, n_units) if ctx.progress else None
    rows = run_alignment(
        cks,
        acfg.model_copy(
            update={"languages": sorted({x for v in p["languages"].values() for x in v})}
        ),
        data_dir=p.get("data_dir"),
        labels=p["labels"],
        step_key=step.key,
        tick=(lambda: bar(1, None, None)) if bar else None,
    )
    return rows
