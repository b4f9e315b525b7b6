"""Config -> align steps: one per (model, seed), consuming the grid's checkpoints as deps.

Runs after ``build_plan`` has added the train steps; each wanted checkpoint is found among them by
its content (role, tasks, seed, model), so nothing here re-derives train-step keys.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from xstilts.align import inputs as I
from xstilts.experiments.steps import Step
from xstilts.models.encoder import resolve_model
from xstilts.tasks.registry import expand_tasks


def checkpoint_label(role: str, intermediate: str, target: str = "none") -> str:
    """``pretrained``, ``int:<setup>``, ``tgt:<target>`` or ``tgt:<target>|int:<setup>``."""
    if role == "pretrained":
        return "pretrained"
    if role == "intermediate":
        return f"int:{intermediate}"
    return f"tgt:{target}" + (f"|int:{intermediate}" if intermediate != "none" else "")


def add_align_steps(plan, cfg, common: dict[str, Any], ddir: Path | None) -> None:
    """Append the align steps of ``cfg.alignment`` to ``plan`` (no-op without the section)."""
    acfg = cfg.alignment
    if acfg is None:
        return
    langs = I.resolve_languages(acfg.inputs, acfg.languages, ddir)
    data = {
        f"{name}/{lang}": I.data_fingerprint(name, lang, ddir)
        for name, ls in langs.items()
        for lang in ls
    }
    for model_name in cfg.model_names():
        ref = resolve_model(model_name)
        mref = asdict(ref)
        for seed in cfg.seeds:
            cks: list[dict[str, Any]] = []
            deps: dict[str, str] = {}
            if "pretrained" in acfg.checkpoints:
                cks.append({"label": "pretrained", "intermediate": "none", "target": "none"})
            train = [
                s
                for s in plan.steps.values()
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
            if not cks:
                continue
            plan.add(
                Step(
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
                    label=f"align {', '.join(acfg.inputs)} ({len(cks)} checkpoints) seed {seed}",
                )
            )
