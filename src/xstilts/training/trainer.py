"""One trainer for single- and multi-task phases.

AdamW (fused where the build supports it) with a linear schedule and warmup, length-grouped
dynamic padding, gradient accumulation, mixed precision and multi-GPU through ``accelerate``,
model selection on the English dev set only, and resumable checkpoints (safetensors for weights;
optimizer state through ``torch.load(weights_only=True)``), so a killed step continues where it was.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from xstilts.data.cache import rows as feature_rows
from xstilts.errors import TrainingError
from xstilts.evaluation.predict import NOT_MODEL_INPUTS, predict
from xstilts.models import device as device_policy
from xstilts.models.model import MultiTaskModel
from xstilts.tasks.family import Family, Features
from xstilts.tasks.spec import TaskSpec
from xstilts.training.batching import SAMPLERS, length_grouped_batches, task_schedule
from xstilts.training.compact_embed import compact_embeddings, full_embeddings, restore_full
from xstilts.training.config import PhaseConfig


@dataclass
class TrainSet:
    task: str
    family: Family
    spec: TaskSpec
    features: Features
    dev_examples: list[dict] | None = None
    dev_features: Features | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = feature_rows(self.features)


@dataclass
class TrainResult:
    steps: int
    history: list[dict[str, Any]]
    best: dict[str, Any] | None
    examples_seen: int
    seconds: float
    rows_computed: int = 0  # forward/backward rows summed over processes


ProgressFn = Callable[[int, int, float], None]  # (step, total, loss)


class _Plan:
    """The deterministic sequence of (task, batch indices): a pure function of the seed."""

    def __init__(self, sets: dict[str, TrainSet], cfg: PhaseConfig, seed: int) -> None:
        self.sets, self.cfg, self.seed = sets, cfg, seed
        eff = cfg.batch_size
        self.per_epoch = {t: math.ceil(len(s.rows) / eff) for t, s in sets.items()}
        total_epoch = sum(self.per_epoch.values())
        self.epoch_steps = total_epoch
        if cfg.max_steps is not None:
            self.total = cfg.max_steps
        else:
            self.total = max(1, int(round(total_epoch * cfg.epochs)))
        sizes = {t: len(s.rows) for t, s in sets.items()}
        probs = (
            SAMPLERS.get(cfg.sampler, where="sampler").obj(
                sizes, SAMPLERS.params(cfg.sampler, cfg.sampler_params, where="sampler_params")
            )
            if len(sets) > 1
            else {next(iter(sets)): 1.0}
        )
        self.schedule = task_schedule(probs, self.total, np.random.default_rng([seed, 7]))
        self._cache: dict[str, tuple[int, list[list[int]]]] = {}
        seen: dict[str, int] = dict.fromkeys(sets, 0)
        self.task_step: list[int] = []  # how many earlier steps went to the same task
        for t in self.schedule:
            self.task_step.append(seen[t])
            seen[t] += 1

    def batches(self, task: str, epoch: int) -> list[list[int]]:
        cached = self._cache.get(task)
        if cached is None or cached[0] != epoch:
            s = self.sets[task]
            lengths = [len(r["input_ids"]) for r in s.rows]
            rng = np.random.default_rng([self.seed, epoch, _stable(task)])
            order = length_grouped_batches(
                lengths, self.cfg.batch_size, rng, group=self.cfg.group_by_length
            )
            self._cache[task] = cached = (epoch, order)
        return cached[1]

    def step(self, i: int) -> tuple[str, list[int]]:
        """Task and row indices of global step ``i`` (each task walks its own epochs)."""
        task = self.schedule[i]
        k = self.task_step[i]
        per = self.per_epoch[task]
        return task, self.batches(task, k // per)[k % per]


def _stable(task: str) -> int:
    import zlib

    return zlib.crc32(task.encode())


def _optimizer(model: MultiTaskModel, cfg: PhaseConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if (p.ndim < 2 or "LayerNorm" in n or n.endswith(".bias")) else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    try:
        return torch.optim.AdamW(groups, lr=cfg.learning_rate, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=cfg.learning_rate)


def _schedule(opt: torch.optim.Optimizer, cfg: PhaseConfig, total: int):
    warm = int(cfg.warmup * total)

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / max(1, warm)
        return max(0.0, (total - step) / max(1, total - warm))

    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def dev_score(model, s: TrainSet, cfg: PhaseConfig, pad_id: int, device) -> dict[str, float]:
    assert s.dev_features is not None and s.dev_examples is not None
    preds = predict(
        model,
        s.family,
        s.task,
        s.dev_features,
        batch_size=cfg.eval_batch_size,
        pad_id=pad_id,
        device=device,
    )
    return s.family.score(preds, s.dev_examples, s.dev_features, s.spec, s.spec.train_language)


def train(
    model: MultiTaskModel,
    sets: dict[str, TrainSet],
    cfg: PhaseConfig,
    *,
    seed: int,
    pad_id: int,
    work_dir: Path,
    step_name: str = "train",
    progress: ProgressFn | None = None,
    accelerator: Any = None,
) -> TrainResult:
    """Train in place; on return ``model`` holds the selected (best-on-English-dev) weights."""
    import time

    from accelerate import Accelerator

    torch.manual_seed(seed)
    if cfg.freeze_embeddings:
        model.freeze_embeddings()
    if accelerator is None:
        from accelerate.utils import DistributedDataParallelKwargs

        # a multi-task step uses one head: the others get no gradient in that step
        ddp = DistributedDataParallelKwargs(find_unused_parameters=len(sets) > 1)
        # the device policy decides the device and whether bf16 runs natively (else fp32)
        accelerator = Accelerator(
            mixed_precision=device_policy.training_mixed_precision(cfg.mixed_precision),
            cpu=device_policy.training_on_cpu(),
            gradient_accumulation_steps=1,
            kwargs_handlers=[ddp],
        )
    acc = accelerator
    world, rank, main = acc.num_processes, acc.process_index, acc.is_main_process
    plan = _Plan(sets, cfg, seed)
    total_updates = math.ceil(plan.total / cfg.grad_accum)
    # Only the embedding rows the training rows use get trained (exact AdamW, see compact_embed).
    compact = None
    if acc.num_processes == 1:
        compact = compact_embeddings(
            model,
            (r for s in sets.values() for r in s.rows),
            [getattr(s.family, "name", "") for s in sets.values()],
            pad_id,
        )
    opt = _optimizer(model, cfg)
    sched = _schedule(opt, cfg, total_updates)
    model, opt = acc.prepare(model, opt)
    device = acc.device

    state_dir = work_dir / "train_state"
    start, history, best, seen, computed_before = 0, [], None, 0, 0
    _recover_state(state_dir)
    if (state_dir / "state.json").exists():
        with full_embeddings(acc.unwrap_model(model), compact):
            start, history, best, seen, computed_before = _restore(state_dir, model, opt, sched)

    selecting = cfg.select_best and all(s.dev_features is not None for s in sets.values())
    computed = 0  # rows this process computed since (re)start

    def computed_total() -> int:  # a collective: every process calls it at the same step
        here = computed
        if world > 1:
            here = int(acc.reduce(torch.tensor(here, device=device), reduction="sum").item())
        return computed_before + here

    model.train()
    t0 = time.perf_counter()
    for i in range(start, plan.total):
        task, idx = plan.step(i)
        s = sets[task]
        # data parallel: every process takes its share of the same global batch (the plan is a
        # pure function of the seed, so all processes agree on it without communicating)
        mine = idx[rank::world] if world > 1 else idx
        rows_here = mine or idx[:1]
        computed += len(rows_here)
        batch = s.family.collate([s.rows[j] for j in rows_here], pad_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        with acc.autocast():
            logits = model(
                task,
                **{k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS},
            )
            loss = s.family.loss(logits, batch)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"non-finite loss ({loss.item()}) at step {i + 1} of {plan.total}, task {task}, "
                f"batch rows {idx[:4]}...; last good checkpoint kept in {state_dir}",
                where=step_name,
            )
        acc.backward(loss / cfg.grad_accum)
        seen += len(idx)
        if (i + 1) % cfg.grad_accum == 0 or i + 1 == plan.total:
            if cfg.max_grad_norm:
                norm = acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                # a finite loss can still give inf/NaN gradients: stop before they reach the
                # weights (and a checkpoint); fp16's loss scaler skips such steps by itself
                if cfg.mixed_precision != "fp16" and norm is not None and not torch.isfinite(norm):
                    raise TrainingError(
                        f"non-finite gradient norm ({float(norm)}) at step {i + 1} of "
                        f"{plan.total}, task {task}, batch rows {idx[:4]}...; update not applied, "
                        f"last good checkpoint kept in {state_dir}",
                        where=step_name,
                    )
            opt.step()
            if compact is not None and not acc.optimizer_step_was_skipped:
                compact.after_step(opt)
            sched.step()
            opt.zero_grad(set_to_none=True)
        if progress:
            progress(i + 1, plan.total, float(loss.detach()))
        epoch_end = (i + 1) % plan.epoch_steps == 0 or i + 1 == plan.total
        # Only at an optimizer update: accumulated gradients are not part of the checkpoint.
        boundary = (i + 1) % cfg.grad_accum == 0
        if _evaluation_due(cfg, i + 1, plan.total, epoch_end, boundary):
            rec: dict[str, Any] = {"step": i + 1, "loss": float(loss.detach())}
            if selecting:
                with full_embeddings(acc.unwrap_model(model), compact):
                    scores = {
                        t: dev_score(acc.unwrap_model(model), st, cfg, pad_id, device)
                        for t, st in sets.items()
                    }
                    dev_main = float(
                        np.mean([scores[t][st.spec.main_metric] for t, st in sets.items()])
                    )
                    rec.update({"dev": scores, "dev_main": dev_main})
                    if best is None or dev_main > best["dev_main"]:
                        best = {"step": i + 1, "dev_main": dev_main}
                        if main:
                            _save_weights(acc.unwrap_model(model), state_dir / "best.safetensors")
                    # Every rank reaches this barrier, even if its own dev score differs slightly.
                    acc.wait_for_everyone()
            history.append(rec)
            if selecting and cfg.early_stopping_patience and i + 1 < plan.total:
                stale = sum(1 for r in history if "dev_main" in r and r["step"] > best["step"])
                stop = stale >= cfg.early_stopping_patience
                if world > 1:  # the main process decides, so every rank leaves together
                    flag = torch.tensor(int(stop and main), device=device)
                    stop = bool(acc.reduce(flag, reduction="sum").item())
                if stop:
                    rec["early_stop"] = True  # this evaluation ended training
                    break
        if epoch_end or (cfg.checkpoint_every and (i + 1) % cfg.checkpoint_every == 0):
            if i + 1 < plan.total and boundary:
                total_rows = computed_total()
                if main:  # one writer; the others wait so nobody reads a half-written state
                    with full_embeddings(acc.unwrap_model(model), compact):
                        _checkpoint(
                            state_dir,
                            acc.unwrap_model(model),
                            opt,
                            sched,
                            i + 1,
                            history,
                            best,
                            seen,
                            total_rows,
                        )
                acc.wait_for_everyone()
    total_rows = computed_total()
    acc.wait_for_everyone()
    model = acc.unwrap_model(model)
    restore_full(model, compact)
    if selecting and best is not None and (state_dir / "best.safetensors").exists():
        model.load_state_dict(load_file(str(state_dir / "best.safetensors")), strict=False)
    steps = next((r["step"] for r in history if r.get("early_stop")), plan.total)
    return TrainResult(steps, history, best, seen, time.perf_counter() - t0, total_rows)


def _evaluation_due(
    cfg: PhaseConfig, step: int, total: int, epoch_end: bool, boundary: bool
) -> bool:
    """Whether the English dev evaluation runs after training step ``step`` (1-based)."""
    if step == total:
        return True
    if isinstance(cfg.eval_every, int):  # every N optimizer updates
        return boundary and (step // cfg.grad_accum) % cfg.eval_every == 0
    return epoch_end and cfg.eval_every == "epoch"


def _save_weights(model: torch.nn.Module, path: Path) -> None:
    """Resume/best weights without frozen parameters (``load_state_dict(strict=False)``).

    Frozen parameters keep the values every (re)start rebuilds identically, and they are most
    of the bytes (the word embeddings: 384 of 470 MB for multilingual-e5-small).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    state = {
        k: v.detach().contiguous().cpu().clone()
        for k, v in model.state_dict().items()
        if k not in frozen
    }
    try:
        save_file(state, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (full disk) leaves no partial file


def _checkpoint(
    state_dir: Path, model, opt, sched, step: int, history, best, seen=0, computed=0
) -> None:
    """Weights, optimizer, scheduler and RNG, written to a temp dir then renamed (atomic)."""
    tmp = state_dir.with_name(state_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _save_weights(model, tmp / "model.safetensors")
        if (state_dir / "best.safetensors").exists():
            shutil.copy(state_dir / "best.safetensors", tmp / "best.safetensors")
        blob = {"opt": opt.state_dict(), "sched": sched.state_dict(), "rng": torch.get_rng_state()}
        if torch.cuda.is_available():  # dropout on GPU draws from the CUDA generators
            blob["cuda_rng"] = torch.cuda.get_rng_state_all()
        torch.save(blob, tmp / "optim.pt")
        # state.json last, itself renamed into place: a temp dir holding it is complete
        # (see _recover_state), even when the kill lands inside this small write
        (tmp / "state.json.part").write_text(
            json.dumps(
                {
                    "step": step,
                    "history": history,
                    "best": best,
                    "seen": seen,
                    "computed": computed,
                }
            )
        )
        os.replace(tmp / "state.json.part", tmp / "state.json")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed write (full disk) leaves nothing
        raise
    old = state_dir.with_name(state_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if state_dir.exists():
        os.replace(state_dir, old)
    os.replace(tmp, state_dir)
    shutil.rmtree(old, ignore_errors=True)


def _restore(state_dir: Path, model, opt, sched):
    meta = json.loads((state_dir / "state.json").read_text())
    target = model.module if hasattr(model, "module") else model
    target.load_state_dict(load_file(str(state_dir / "model.safetensors")), strict=False)
    blob = torch.load(state_dir / "optim.pt", weights_only=True)
    opt.load_state_dict(blob["opt"])
    sched.load_state_dict(blob["sched"])
    torch.set_rng_state(blob["rng"])
    if "cuda_rng" in blob and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
    return (
        int(meta["step"]),
        meta["history"],
        meta["best"],
        int(meta.get("seen", 0)),
        int(meta.get("computed", meta.get("seen", 0))),
    )


def _recover_state(state_dir: Path) -> None:
    """Finish a checkpoint swap cut by a kill: a complete temp dir wins, else the old one."""
    if (state_dir / "state.json").exists():
        return
    tmp = state_dir.with_name(state_dir.name + ".tmp")
    old = state_dir.with_name(state_dir.name + ".old")
    for cand in (tmp, old):
        if (cand / "state.json").exists():
            shutil.rmtree(state_dir, ignore_errors=True)
            os.replace(cand, state_dir)
            break
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
