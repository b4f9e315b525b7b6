"""Alignment probes (the ``align`` step): layer-wise retrieval, pair geometry, CKA and language-ID
probes over the grid's checkpoints (``align/run.py`` computes them).

A protocol like the others (``evaluation/protocols/``), kept in ``align/`` because the probes use
evaluation's retrieval functions: ``PROTOCOLS`` names this module among its providers, so
evaluation never imports align.

Every checkpoint is loaded through ``models.build`` and placed by the device policy
(``align/hidden.py``); sentences come from the input sets' ``TaskSpec``s (``align/inputs.py``).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from xstilts.align import inputs as I
from xstilts.align.config import AlignmentConfig
from xstilts.align.hidden import Checkpoint
from xstilts.align.run import run_alignment
from xstilts.evaluation.protocols.base import Protocol, ProtocolParams, StepRequest, protocol
from xstilts.models.encoder import resolve_model
from xstilts.rows import ResultRow
from xstilts.tasks.registry import expand_tasks


class AlignParams(ProtocolParams):
    alignment: dict[str, Any]
    languages: dict[str, list[str]]  # type: ignore[assignment]  (per input set)
    checkpoints: list[dict[str, Any]]


def checkpoint_label(role: str, intermediate: str, target: str = "none") -> str:
    """``pretrained``, ``int:<setup>``, ``tgt:<target>`` or ``tgt:<target>|int:<setup>``."""
    if role == "pretrained":
        return "pretrained"
    if role == "intermediate":
        return f"int:{intermediate}"
    return f"tgt:{target}" + (f"|int:{intermediate}" if intermediate != "none" else "")


@protocol("alignment", config=AlignParams)
class Alignment(Protocol):
    """Per-layer probes of several checkpoints of one (model, seed) on parallel input sets."""

    step_kind = "align"
    row_kind = "alignment"
    p: AlignParams

    def run(self) -> list[ResultRow]:
        p = self.p
        acfg = AlignmentConfig.model_validate(p.alignment)
        cks = []
        for c in p.checkpoints:
            path = self.ctx.inputs.get(f"ckpt:{c['label']}")
            cks.append(
                Checkpoint(
                    c["label"],
                    self.ref,
                    Path(path) if path is not None else None,
                    intermediate=c["intermediate"],
                    target=c["target"],
                    trust_remote_code=p.trust_remote_code,
                    allow_pickle=p.allow_pickle,
                )
            )
        n_units = sum(len(v) for v in p.languages.values())
        bar = self.ctx.progress(self.step_label, n_units) if self.ctx.progress else None
        return run_alignment(
            cks,
            acfg.model_copy(
                update={"languages": sorted({x for v in p.languages.values() for x in v})}
            ),
            data_dir=p.data_dir,
            labels=p.labels,
            step_key=self.step_key,
            tick=(lambda: bar(1, None, None)) if bar else None,
        )

    @classmethod
    def plan_steps(
        cls, cfg: Any, common: dict[str, Any], ddir: Path | None, train_steps: list[Any]
    ) -> list[StepRequest]:
        """One ``align`` step per (model, seed) of ``cfg.alignment``, consuming the train steps of
        the checkpoints it probes (found by content: role, tasks, seed, model)."""
        acfg = cfg.alignment
        if acfg is None:
            return []
        langs = I.resolve_languages(acfg.inputs, acfg.languages, ddir)
        data = {
            f"{name}/{lang}": I.data_fingerprint(name, lang, ddir)
            for name, ls in langs.items()
            for lang in ls
        }
        out: list[StepRequest] = []
        for model_name in cfg.model_names():
            ref = resolve_model(model_name)
            if cfg.pooling:  # as the planner's train steps store it, so they are found
                ref = replace(ref, pooling=cfg.pooling)
            mref = asdict(ref)
            for seed in cfg.seeds:
                cks, deps = _checkpoints(cfg, acfg, train_steps, mref, seed)
                if not cks:
                    continue
                out.append(
                    StepRequest(
                        "align",
                        {
                            **common,
                            "model": mref,
                            "alignment": acfg.model_dump(mode="json"),
                            "languages": langs,
                            "data": data,
                            "checkpoints": cks,
                            "labels": {
                                "run_id": cfg.name,
                                "config_hash": cfg.digest(),
                                "model": ref.name,
                                "seed": seed,
                            },
                        },
                        deps=deps,
                        label=(
                            f"align {', '.join(acfg.inputs)} ({len(cks)} checkpoints) seed {seed}"
                        ),
                    )
                )
        return out


def _checkpoints(
    cfg: Any, acfg: AlignmentConfig, train_steps: list[Any], mref: dict[str, Any], seed: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The probed checkpoints of one (model, seed) and the train steps they come from."""
    cks: list[dict[str, Any]] = []
    deps: dict[str, str] = {}
    if "pretrained" in acfg.checkpoints:
        cks.append({"label": "pretrained", "intermediate": "none", "target": "none"})
    train = [
        s
        for s in train_steps
        if s.kind == "train" and s.params.get("seed") == seed and s.params["model"] == mref
    ]
    inter_label: dict[str, str] = {}  # intermediate step key -> setup label
    for setup in cfg.setups():
        if not setup:
            continue
        tasks = expand_tasks(setup, where="intermediate")
        for s in train:
            if s.params["role"] == "intermediate" and s.params["tasks"] == tasks:
                inter_label[s.key] = "+".join(setup)
    if "intermediate" in acfg.checkpoints:
        for key, lab in inter_label.items():
            label = checkpoint_label("intermediate", lab)
            cks.append({"label": label, "intermediate": lab, "target": "none"})
            deps[f"ckpt:{label}"] = key
    if "target" in acfg.checkpoints:
        for s in train:
            if s.params["role"] != "target":
                continue
            init = s.deps.get("init")
            lab = inter_label.get(init, "none") if init else "none"
            tgt = s.params["tasks"][0]
            label = checkpoint_label("target", lab, tgt)
            cks.append({"label": label, "intermediate": lab, "target": tgt})
            deps[f"ckpt:{label}"] = s.key
    return cks, deps
