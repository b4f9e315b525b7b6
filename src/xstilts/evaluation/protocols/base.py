"""The ``Protocol`` base: everything that scores a checkpoint does it the same way.

A protocol owns, once for all of them: reading its typed params, loading the checkpoint (once),
placing it by the device and precision policy (``models/device.py``), looping the languages with
the split fallback (a language without the asked split is scored on ``dev``), building result
rows (labels, ``kind``, perturbation parameters as data) and saving predictions. A protocol class
only says what one language computes.

Protocols are registered with ``@protocol("name", config=Params)`` into ``PROTOCOLS``, which
imports every module of this package on its first lookup: a new protocol is one new file. A task
names its protocol in its YAML (``protocol:``); a step names the protocol that runs it by its kind.
Nothing here imports ``xstilts.experiments``: steps and contexts arrive as plain objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from typing import Protocol as Typing

from pydantic import BaseModel, ConfigDict, ValidationError

from xstilts.atomic import safe_join
from xstilts.errors import ConfigError
from xstilts.models import device as device_policy
from xstilts.models.build import load_model
from xstilts.models.encoder import EncoderRef
from xstilts.registry import Registry, pydantic_message
from xstilts.rows import ResultRow
from xstilts.tasks.spec import TaskSpec

LABEL_KEYS = ("run_id", "config_hash", "model", "intermediate", "target", "seed")


class StepLike(Typing):
    """What a protocol reads of a step (``experiments.steps.Step`` has it)."""

    kind: str
    params: dict[str, Any]
    key: str
    label: str


class ContextLike(Typing):
    """What a protocol reads of its running context (``experiments.steps.StepContext``)."""

    work_dir: Path
    inputs: dict[str, Path]
    progress: Callable[[str, int], Any] | None


@dataclass
class StepRequest:
    """A step a protocol wants for a checkpoint; the planner turns it into a keyed ``Step``."""

    kind: str
    params: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)
    label: str = ""


class ProtocolParams(BaseModel):
    """The params every scoring step carries; protocols extend it. Unknown keys are kept (the
    planner may add keyed fingerprints a protocol does not read)."""

    model_config = ConfigDict(extra="allow")

    model: dict[str, Any]
    labels: dict[str, Any] = {}
    data_dir: str | None = None
    trust_remote_code: bool = False
    allow_pickle: bool = False
    precision: str = "fp32"  # auto | fp32 | bf16 (resolved by the device policy)
    languages: list[str] = []
    split: str = "test"
    batch_size: int = 64
    max_length: int = 128
    max_examples: int | None = None
    cache_features: bool = True
    save_predictions: bool = True


PROTOCOLS: Registry[type[Protocol]] = Registry(
    "protocol", providers=("xstilts.evaluation.protocols.*", "xstilts.align.protocol")
)


def protocol(name: str, *, config: type[ProtocolParams] = ProtocolParams):
    """Register a ``Protocol`` subclass under ``name`` (also its step kind unless it sets one)."""

    def deco(cls: type[Protocol]) -> type[Protocol]:
        cls.name = name
        cls.Params = config
        cls.step_kind = cls.__dict__.get("step_kind", name)
        PROTOCOLS.register(name, config=config)(cls)
        return cls

    return deco


def get_protocol(name: str, *, where: str | None = None) -> type[Protocol]:
    return PROTOCOLS.get(name, where=where).obj


def protocol_for_step(kind: str) -> type[Protocol] | None:
    """The protocol that runs steps of ``kind`` (None: not a scoring step, e.g. ``train``)."""
    return next((e.obj for e in PROTOCOLS.items() if e.obj.step_kind == kind), None)


def task_protocol(spec: TaskSpec) -> type[Protocol]:
    """The protocol a task names in its YAML (``protocol:``)."""
    return get_protocol(spec.protocol, where=spec.source_file or spec.name)


class Protocol:
    """One scoring run of a step: load once, place, loop, score, describe."""

    name: ClassVar[str] = ""
    step_kind: ClassVar[str] = ""
    Params: ClassVar[type[ProtocolParams]] = ProtocolParams
    row_kind: ClassVar[str] = "clean"  # one of rows.ROW_KINDS

    def __init__(
        self,
        step: StepLike,
        ctx: ContextLike,
        *,
        capability: device_policy.Capability | None = None,
    ) -> None:
        try:
            self.p = self.Params.model_validate(step.params)
        except ValidationError as exc:
            raise ConfigError(pydantic_message(exc), where=step.label or step.key) from None
        self.params = step.params
        self.step_key = step.key
        self.step_label = step.label
        self.ctx = ctx
        self.capability = capability
        self.placement: device_policy.Placement | None = None
        self._model: tuple[Any, Any] | None = None

    # -- the shared parts --------------------------------------------------------------------

    @property
    def ref(self) -> EncoderRef:
        return EncoderRef(**self.p.model)

    @property
    def data_dir(self) -> Path | None:
        return Path(self.p.data_dir) if self.p.data_dir else None

    def load(self, role: str = "checkpoint", *, encoder_only: bool = False) -> tuple[Any, Any]:
        """The model of input ``role`` (the pretrained encoder when the step has none), loaded
        once and placed by the device policy in the step's precision."""
        if self._model is None:
            model, tok = load_model(
                self.ref, self.ctx.inputs.get(role), self.params, encoder_only=encoder_only
            )
            self.placement = device_policy.place(
                model, self.p.precision, cap=self.capability, where=f"{self.name}.precision"
            )
            self._model = (model, tok)
        return self._model

    def splits(self, spec: TaskSpec) -> Iterator[tuple[str, str]]:
        """(language, split) for each asked language: the asked split, or ``dev`` where the
        language has none (XTREME's test sets without labels), with a progress tick after each."""
        bar = (
            self.ctx.progress(self.step_label, len(self.p.languages)) if self.ctx.progress else None
        )
        for lang in self.p.languages:
            yield lang, (self.p.split if spec.has_split(self.p.split, lang) else "dev")
            if bar:
                bar(1, None, None)

    def labels(self) -> dict[str, Any]:
        return {k: self.p.labels[k] for k in LABEL_KEYS if k in self.p.labels}

    def row(
        self,
        *,
        task: str,
        language: str,
        split: str,
        metric: str,
        value: float,
        kind: str | None = None,
        perturbation: str = "none",
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        labels: dict[str, Any] | None = None,
    ) -> ResultRow:
        """One result row with this run's labels; the placement is recorded in ``extra``."""
        placed = (
            {"device": self.placement.device.type, "precision": self.placement.precision}
            if self.placement
            else {}
        )
        return ResultRow(
            **{**self.labels(), **(labels or {})},
            task=task,
            language=language,
            split=split,
            perturbation=perturbation,
            metric=metric,
            value=float(value),
            step=self.step_key,
            kind=kind or self.row_kind,
            params=dict(params or {}),
            extra={**(extra or {}), **placed},
        )

    def output(self, rel: str, where: str) -> Path:
        """A path inside the step's artefact dir (a language from a task file stays inside)."""
        dest = safe_join(self.ctx.work_dir, rel, where=where)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def save_predictions(
        self, lang: str, examples: list[dict], preds: list[Any], spec: TaskSpec
    ) -> None:
        """``predictions/<lang>.jsonl``: id, prediction (label names), gold; read by the paired
        model comparisons."""
        if not self.p.save_predictions:
            return
        path = self.output(f"predictions/{lang}.jsonl", where=f"languages[{lang}]")
        labels = spec.labels
        with open(path, "w", encoding="utf-8") as fh:
            for ex, pr in zip(examples, preds, strict=True):
                shown = labels[pr] if labels and isinstance(pr, int) else pr
                fh.write(
                    json.dumps(
                        {"id": ex.get("id"), "prediction": shown, "gold": _gold(ex)},
                        ensure_ascii=False,
                    )
                    + "\n"
                )

    # -- what a protocol defines -------------------------------------------------------------

    def run(self) -> list[ResultRow]:
        raise NotImplementedError


def _gold(ex: dict) -> Any:
    for k in ("label", "tags", "answers"):
        if k in ex:
            return ex[k]
    return None


def run_protocol_step(step: StepLike, ctx: ContextLike) -> list[ResultRow]:
    """Run a scoring step by the protocol registered for its kind."""
    cls = protocol_for_step(step.kind)
    if cls is None:
        raise ConfigError(f"no protocol runs steps of kind {step.kind!r}", where=step.key)
    return cls(step, ctx).run()
