"""Steps: content-keyed units of work and the functions that run them.

A step's key is a hash of everything its output depends on: its kind, its parameters (model
fingerprint, tasks and their versions, data fingerprints, hyperparameters, seed), the keys of the
steps it consumes and the code version of its kind. Equal keys mean equal outputs, so a plan
never holds the same work twice and a finished step is never run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xstilts.experiments.results import ResultRow
from xstilts.registry import Registry

# Bump a kind's version when its code changes what it computes: old artefacts stop matching.
STEP_VERSIONS = {"train": 1, "evaluate": 1, "perturb": 1, "attack": 2, "retrieve": 1, "align": 1}


# Params that name or steer a run without changing what a step computes stay out of its key:
# renaming a run or growing a grid (the labels' run id and config hash), feature caching and the
# checkpoint interval reuse every artefact. Executors refresh the labels of reused rows.
UNKEYED_PARAMS = ("labels", "cache_features")
UNKEYED_PHASE = ("checkpoint_every", "processes")
# Phase fields added after artefacts existed: left out of the key while at their default, so
# adding them does not invalidate every finished step.
DEFAULT_OMITTED_PHASE = {
    "head_dropout": None,
    "early_stopping_patience": None,
    "dev_max_examples": None,
}


def key_params(params: dict[str, Any]) -> dict[str, Any]:
    """The part of a step's params that its key (and so its output) depends on."""
    out = {k: v for k, v in params.items() if k not in UNKEYED_PARAMS}
    if isinstance(out.get("phase"), dict):
        out["phase"] = {
            k: v
            for k, v in out["phase"].items()
            if k not in UNKEYED_PHASE
            and not (k in DEFAULT_OMITTED_PHASE and v == DEFAULT_OMITTED_PHASE[k])
        }
    return out


@dataclass
class Step:
    kind: str
    params: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)  # role -> key of the step it consumes
    label: str = ""
    resources: dict[str, float] = field(default_factory=lambda: {"num_cpus": 1})
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            blob = json.dumps(
                {
                    "kind": self.kind,
                    "v": STEP_VERSIONS.get(self.kind, 1),
                    "params": key_params(self.params),
                    "deps": self.deps,
                },
                sort_keys=True,
                default=str,
            )
            self.key = f"{self.kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


@dataclass
class StepContext:
    """What a running step may use besides its params: its dirs and a progress reporter."""

    work_dir: Path  # persistent across restarts (resumable state)
    inputs: dict[str, Path]  # role -> finished artefact dir of a dependency
    progress: Callable[[str, int], Any] | None = None  # (description, total) -> advance(n)


StepFn = Callable[[Step, StepContext], list[ResultRow]]
STEP_KINDS: Registry[StepFn] = Registry("step kind")


def get_runner(kind: str) -> StepFn:
    import xstilts.align.step  # noqa: F401  (registers align)
    import xstilts.experiments.perturbed  # noqa: F401  (registers attack)
    import xstilts.experiments.pipeline  # noqa: F401  (registers train/evaluate)

    return STEP_KINDS.get(kind).obj
