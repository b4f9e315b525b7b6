"""The experiment file: what to run, validated with unknown keys refused (errors name the field).

A config is grid-shaped from the start: models x intermediate set-ups x targets x seeds (x
perturbations). A single pipeline is simply a grid with one value per axis.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xstilts.align.config import AlignmentConfig
from xstilts.errors import ConfigError
from xstilts.registry import pydantic_message
from xstilts.training.config import PhaseConfig
from xstilts.yamlio import load_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Phases(Strict):
    intermediate: PhaseConfig = Field(default_factory=lambda: PhaseConfig(select_best=False))
    target: PhaseConfig = Field(default_factory=PhaseConfig)


class EvalConfig(Strict):
    split: str = "test"  # falls back to dev for a language without a test split
    languages: list[str] | None = None  # default: every language of the target
    # MLQA-style tasks (files per context x question language): also every cross-language pair,
    # reported as language ``<context>-<question>`` (e.g. ``de-en``); averages stay monolingual
    language_pairs: bool = False
    max_examples: int | None = None
    batch_size: int = 64
    save_predictions: bool = True
    # bf16: weights and activations in bfloat16 (decoding and scoring stay float32). About 3-4x
    # faster on GPUs and on CPUs with AMX; scores may move by a few tenths of a point. Applies to
    # evaluation and attacks. Only where bf16 is native (models/device.py): elsewhere an explicit
    # bf16 warns and runs fp32; auto picks bf16 where native, else fp32.
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    # target -> other tasks of its family scored with its checkpoint and head, without a training
    # of their own: {tydiqa-heldout: [xquad, mlqa-dev]} trains QA once and scores three QA sets
    also_score: dict[str, list[str]] = Field(default_factory=dict)


class PerturbationSpec(Strict):
    """A fixed perturbation applied to the evaluation inputs (see ``xstilts perturb --list``)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    fields: list[str] | None = None  # e.g. [text_b] to perturb only the hypothesis
    label: str | None = None  # how it is shown in results (default name@rate)
    # Only these evaluation languages (e.g. code-switching where a dictionary exists). String
    # params may name "{lang}" and "{data_dir}": path: "{data_dir}/muse_dicts/dict/en-{lang}.dict".
    languages: list[str] | None = None

    def step_params(self) -> dict[str, Any]:
        """What an evaluation step keys on (``languages`` is omitted when unset, so configs
        written before it existed keep their step keys)."""
        d = self.model_dump()
        if d["languages"] is None:
            del d["languages"]
        return d


class AttackSpec(Strict):
    """An adaptive attack on the evaluation inputs."""

    name: str = "greedy"
    params: dict[str, Any] = Field(default_factory=dict)
    languages: list[str] | None = None
    max_examples: int | None = 100
    label: str | None = None


class RetrievalConfig(Strict):
    """Retrieval tasks scored on embeddings (no training), on the checkpoints named here.

    ``pretrained``: the encoder as loaded; ``intermediate``: after each intermediate set-up;
    ``target``: after each target's training. Retrieval-family targets (``tatoeba``, ``bucc2018``,
    from ``targets`` or a ``benchmark``) are added to ``tasks`` automatically.
    """

    tasks: list[str] = Field(default_factory=list)
    # a list for every task, or {task: [languages]}; default: the benchmark's languages, else all
    languages: list[str] | dict[str, list[str]] | None = None
    layer: int | None = None  # hidden-state index (0 = embeddings); None: per-model default
    prefix: str | None = None  # text prepended to every sentence; None: per-model default
    checkpoints: list[Literal["pretrained", "intermediate", "target"]] = Field(
        default_factory=lambda: ["pretrained", "intermediate"]
    )
    split: str = "test"
    max_examples: int | None = None  # pairs (Tatoeba), sentences per side (BUCC), queries
    batch_size: int = 64
    max_length: int | None = None  # None: the model profile's (models/profile.py; XTREME: 512)
    k: int | None = None  # BUCC margin neighbours (default 4) / ranking cut-off (default 20)
    # encoder in bf16 (pooling and search in fp32) where native; auto: bf16 where native
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    heldout_seed: int = 13  # BUCC: which half of dev tunes the threshold


class ExperimentConfig(Strict):
    name: str = "experiment"
    model: str | None = None  # hub id, local path, or the offline default when absent
    models: list[str] | None = None
    pooling: Literal["first", "last", "mean"] | None = None  # default: the model's own convention
    data_dir: str | None = None
    intermediate: list[str | list[str]] = Field(default_factory=list)
    baseline: bool = True
    target: str | None = None
    targets: list[str] = Field(default_factory=list)
    benchmark: str | None = None  # xtreme | xtreme-r: every target of the benchmark
    seeds: list[int] = Field(default_factory=lambda: [1])
    phases: Phases = Field(default_factory=Phases)
    task_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    evaluation: EvalConfig = Field(default_factory=EvalConfig)
    perturbations: list[PerturbationSpec] = Field(default_factory=list)
    attacks: list[AttackSpec] = Field(default_factory=list)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    alignment: AlignmentConfig | None = None  # layer-wise alignment probes (xstilts.align)
    trust_remote_code: bool = False
    allow_pickle: bool = False
    cache_features: bool = True
    # dotted config path -> values, crossed with the grid (see experiments/sweep.py)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("at least one seed")
        return v

    @model_validator(mode="after")
    def _targets(self) -> ExperimentConfig:
        if self.target and self.target not in self.targets:
            self.targets = [self.target, *self.targets]
        if (
            not self.targets
            and not self.benchmark
            and not self.retrieval.tasks
            and not self.alignment
        ):
            raise ValueError(
                "name a `target`, `targets`, a `benchmark`, `retrieval.tasks` or `alignment`"
            )
        return self

    def model_names(self) -> list[str | None]:
        return list(self.models) if self.models else [self.model]

    def setups(self) -> list[list[str]]:
        """Intermediate set-ups; ``[]`` is the baseline (no intermediate phase)."""
        out: list[list[str]] = [[]] if self.baseline else []
        for s in self.intermediate:
            out.append([s] if isinstance(s, str) else list(s))
        return out

    def phase(self, kind: str, task: str | None) -> PhaseConfig:
        """A phase's hyperparameters with the per-task overrides applied (validated)."""
        base = getattr(self.phases, kind)
        over = self.task_overrides.get(task or "", {})
        if not over:
            return base
        try:
            return PhaseConfig.model_validate({**base.model_dump(), **over})
        except ValidationError as exc:
            raise ConfigError(pydantic_message(exc), where=f"task_overrides.{task}") from None

    def digest(self) -> str:
        # without a sweep the dump (and so the hash) is what it was before sweeps existed
        data = self.model_dump(mode="json", exclude=set() if self.sweep else {"sweep"})
        blob = json.dumps(data, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read a config with ``yaml.safe_load``; every error names the file and the field or line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", where=str(path)) from None
    data = load_yaml(text, str(path)) or {}
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of keys to values", where=str(path))
    data = with_include(data, path)
    data.update(overrides or {})
    return parse_config(data, where=str(path))


def with_include(data: dict[str, Any], path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Resolve ``include:`` so that studies take a shared recipe from one file, not restated.

    ``include: ../configs/phang2020.yaml`` (relative to the including file) takes every key of
    that file; ``include: {path: ..., keys: [phases, task_overrides]}`` only the keys named. The
    including file's values win; mappings merge key by key (a study adds a task override
    without restating the others), anything else is replaced.
    """
    inc = data.pop("include", None)
    if inc is None:
        return data
    keys = None
    if isinstance(inc, dict) and set(inc) <= {"path", "keys"} and isinstance(inc.get("path"), str):
        keys = inc.get("keys")
        if keys is not None and not (
            isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        ):
            raise ConfigError("include.keys: expected a list of key names", where=str(path))
        inc = inc["path"]
    if not isinstance(inc, str) or not inc or "\x00" in inc:
        raise ConfigError(
            "include: expected a file name or {path: FILE, keys: [KEY, ...]}", where=str(path)
        )
    target = (path.parent / inc).resolve()
    if target in seen or target == path.resolve():
        raise ConfigError(f"include cycle through {target}", where=str(path))
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else str(exc)
        raise ConfigError(f"include {inc}: {reason}", where=str(path)) from None
    base = load_yaml(text, str(target)) or {}
    if not isinstance(base, dict):
        raise ConfigError("an included config must be a mapping", where=str(target))
    base = with_include(base, target, (*seen, path.resolve()))
    if keys is not None:
        missing = [k for k in keys if k not in base]
        if missing:
            raise ConfigError(
                f"include.keys: {target} has no {', '.join(missing)}", where=str(path)
            )
        base = {k: base[k] for k in keys}
    return _merge(base, data)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_config(data: dict[str, Any], *, where: str = "config") -> ExperimentConfig:
    try:
        cfg = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where=where) from None
    if cfg.sweep:
        from xstilts.experiments.sweep import check_sweep, points

        check_sweep(cfg.sweep)
        points(cfg)  # every value validated now: errors name sweep.<path>
    return cfg
