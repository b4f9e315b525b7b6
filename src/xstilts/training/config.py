"""Per-phase hyperparameters (typed; unknown keys are errors that name the field)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class PhaseConfig(BaseModel):
    """One training phase: learning rate, length, batch, schedule, what to freeze, selection."""

    model_config = ConfigDict(extra="forbid")

    learning_rate: float = 2e-5
    epochs: float = 3.0
    max_steps: int | None = None  # overrides epochs when set
    batch_size: int = 32
    grad_accum: int = 1
    warmup: float = 0.1  # share of steps
    max_length: int = 128
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    freeze_embeddings: bool = False
    max_examples: int | None = None  # first N training rows (after any slice)
    train_split: str = "train"  # e.g. "test" to train on XNLI's labelled English test rows
    dev_split: str | None = "dev"  # English dev for model selection (true zero-shot); None: last
    dev_max_examples: int | None = Field(None, ge=1)  # first N dev rows (jiant: 500); None: all
    select_best: bool = True
    # English dev evaluations (for selecting the best weights): at each epoch's end, only at the
    # end, or every N optimizer updates (and at the end), as jiant evaluates every 1,000 steps
    eval_every: Literal["epoch", "end"] | int = "epoch"
    # stop when this many dev evaluations in a row bring no improvement (jiant's early
    # stopping); the best weights are kept. None: train to the end
    early_stopping_patience: int | None = Field(None, ge=1)
    sampler: str = "proportional"  # multi-task: proportional | temperature | uniform | weights
    sampler_params: dict[str, Any] = Field(default_factory=dict)
    # auto: bf16 where the device runs it natively, else none (models/device.py)
    mixed_precision: Literal["no", "auto", "bf16", "fp16"] = "no"
    checkpoint_every: int = 0  # steps between resumable checkpoints (0: only at epoch ends)
    # Data-parallel processes for this phase (one per GPU; torchrun + accelerate). Each global
    # batch of ``batch_size`` rows is split across them; with ``batch_size`` a multiple of
    # ``processes`` and no dropout, results match one process up to floating-point reduction
    # order (uneven shares are averaged per process). Not part of the step key (like the
    # checkpoint interval).
    processes: int = Field(1, ge=1)
    head_dropout: float | None = Field(None, ge=0.0, lt=1.0)  # None: the head's own default
    group_by_length: bool = True
    eval_batch_size: int = 64

    @field_validator("eval_every")
    @classmethod
    def _positive_interval(cls, v: str | int) -> str | int:
        if isinstance(v, int) and v < 1:
            raise ValueError("a step interval must be at least 1")
        return v

    @field_validator("early_stopping_patience")
    @classmethod
    def _needs_selection(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is not None and not (info.data.get("select_best") and info.data.get("dev_split")):
            raise ValueError("early stopping needs dev evaluations: select_best and a dev_split")
        return v
