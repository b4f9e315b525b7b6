"""Retrieval (the ``retrieve`` step): retrieval tasks scored on an encoder's embeddings, no training.

Any checkpoint can be embedded (the pretrained encoder, the encoder after intermediate training,
or after target training), so a plan can measure what intermediate training does to the encoder's
cross-lingual alignment. Sentences are mean-pooled over the attention mask (or take the first
token, as the model profile says: XTREME's BUCC) at one hidden layer
(``hidden_states[layer]``, 0 = embeddings) and searched exactly by cosine, in blocks
(``evaluation/retrieval.py``).

Which layer, pooling, max length and prefix: the model profile (``models/profile.py``, XTREME's
choices for the models XTREME used), per retrieval kind; ``retrieval.layer`` / ``prefix`` /
``max_length`` in a config override it.

What one language computes depends on the task's retrieval kind, a sub-registry
(``RETRIEVAL_KINDS``, one module per kind in ``retrieval_kinds/``): ``tatoeba`` (aligned pairs),
``bucc2018`` (margin mining + threshold), ``ranking`` (LAReQA, Mewsli-X). A task names its kind
in its YAML (``protocol_params: {kind: ...}``, else its first metric); a new kind is one module
there and a task YAML.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import torch

from xstilts.errors import ConfigError
from xstilts.evaluation.protocols.base import Protocol, ProtocolParams, StepRequest, protocol
from xstilts.models.profile import default_layer, default_prefix, retrieval_convention
from xstilts.registry import Registry
from xstilts.rows import ResultRow
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec


@torch.inference_mode()
def embed(
    model,
    tokenizer: Any,
    texts: list[str],
    *,
    layer: int,
    batch_size: int = 64,
    max_length: int = 128,
    prefix: str = "",
    device: torch.device | str | None = None,
    pooling: str = "mean",
) -> torch.Tensor:
    """Mean-pooled (or first-token, ``pooling="first"``) ``hidden_states[layer]`` of each text,
    float32 on CPU, in input order.

    Batches are formed from length-sorted texts (little padding) and go to ``device``, by default
    the device the model was placed on; the result is put back in order.
    """
    from xstilts.models.device import model_device
    from xstilts.tasks.family import pad_ids

    device = model_device(model) if device is None else device
    n_states = model.encoder.config.num_hidden_layers + 1
    if not -n_states <= layer < n_states:
        raise ConfigError(
            f"layer {layer} out of range: the encoder has hidden states 0..{n_states - 1}",
            where="retrieval.layer",
        )
    was_training = model.training
    model.eval()
    enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)
    ids = enc["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out = torch.empty(len(ids), model.hidden_size)
    pad = tokenizer.pad_token_id or 0
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        x, mask = pad_ids([ids[i] for i in idx], pad)
        x, mask = x.to(device), mask.to(device)
        hs = model.encode(x, mask, output_hidden_states=True).hidden_states[layer].float()
        m = mask.unsqueeze(-1).to(hs.dtype)
        pooled = hs[:, 0] if pooling == "first" else (hs * m).sum(1) / m.sum(1).clamp(min=1e-6)
        out[idx] = pooled.cpu()
    model.train(was_training)
    return out


# --------------------------------------------------------------------------------------------
# the kinds: what one language computes
# --------------------------------------------------------------------------------------------


class RetrievalKind:
    """One way of scoring a retrieval task per language; one module per kind registers one."""

    name: ClassVar[str] = ""
    default_k: ClassVar[int] = 20  # neighbours (ranking cut-off, mining k) when the config has none

    def data_split(self, asked: str) -> str:
        """The split the kind reads for an asked split (fingerprinted at plan time)."""
        return asked

    def score(self, run: Retrieval, spec: TaskSpec, lang: str) -> list[Scored]:
        """(split, scores, extra) per split scored for ``lang``; the first one is the headline."""
        raise NotImplementedError


Scored = tuple[str, dict[str, float], dict[str, Any]]

RETRIEVAL_KINDS: Registry[type[RetrievalKind]] = Registry(
    "retrieval kind", providers=("xstilts.evaluation.protocols.retrieval_kinds.*",)
)


def retrieval_kind(name: str):
    """Register a ``RetrievalKind`` subclass under ``name``."""

    def deco(cls: type[RetrievalKind]) -> type[RetrievalKind]:
        cls.name = name
        RETRIEVAL_KINDS.register(name)(cls)
        return cls

    return deco


def kind_of(spec: TaskSpec) -> RetrievalKind:
    """The task's retrieval kind: ``protocol_params.kind`` in its YAML, else its first metric."""
    name = spec.protocol_params.get("kind") or (spec.metrics[0] if spec.metrics else "")
    return RETRIEVAL_KINDS.get(name, where=spec.source_file or spec.name).obj()


# --------------------------------------------------------------------------------------------
# the protocol
# --------------------------------------------------------------------------------------------


class RetrievalParams(ProtocolParams):
    task: str
    layer: int | None = None
    prefix: str | None = None
    k: int | None = None
    heldout_seed: int = 13
    checkpoint: str = "pretrained"
    max_length: int | None = None  # None: the model profile's (models/profile.py)


@protocol("retrieval", config=RetrievalParams)
class Retrieval(Protocol):
    """Embed a checkpoint's (or the pretrained) encoder outputs and score a retrieval task."""

    step_kind = "retrieve"
    row_kind = "retrieval"
    p: RetrievalParams

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Embeddings of ``texts`` at the step's layer, with its prefix, on the placed model."""
        model, tok = self.load("checkpoint", encoder_only=True)
        return embed(
            model,
            tok,
            texts,
            layer=self.layer,
            batch_size=self.p.batch_size,
            max_length=self.max_length,
            prefix=self.prefix,
            pooling=self.pooling,
        )

    def run(self) -> list[ResultRow]:
        spec = get_task(self.p.task, where="retrieval.tasks")
        kind = kind_of(spec)
        model, _ = self.load("checkpoint", encoder_only=True)
        conv = retrieval_convention(self.ref.name, kind.name)
        self.layer = self.p.layer
        if self.layer is None:
            n_layers = int(model.encoder.config.num_hidden_layers)
            self.layer = default_layer(self.ref.name, n_layers, kind.name)
        self.prefix = (
            self.p.prefix if self.p.prefix is not None else default_prefix(self.ref.name, kind.name)
        )
        self.max_length = self.p.max_length or conv.max_length
        self.pooling = conv.pooling
        rows: list[ResultRow] = []
        for lang, _split in self.splits(spec):
            t0 = time.perf_counter()
            for split, scores, extra in kind.score(self, spec, lang):
                extra = {"seconds": round(time.perf_counter() - t0, 3), **extra}
                for metric, value in scores.items():
                    rows.append(
                        self.row(
                            task=spec.name,
                            language=lang,
                            split=split,
                            metric=metric,
                            value=float(value),
                            params={"kind": kind.name, "layer": self.layer},
                            extra={**extra, "layer": self.layer},
                        )
                    )
        return rows

    def splits(self, spec: TaskSpec):
        """Every asked language (a kind picks its own split: no dev fallback here)."""
        for lang, _ in super().splits(spec):
            yield lang, self.p.split

    # -- planning ----------------------------------------------------------------------------

    @classmethod
    def plan_steps(
        cls,
        cfg: Any,
        common: dict[str, Any],
        ref: Any,
        mref: dict[str, Any],
        tasks: list[str],
        checkpoint: str,
        *,
        seed: int,
        setup_label: str,
        target: str,
        dep: str | None,
    ) -> list[StepRequest]:
        """One ``retrieve`` step per task for this checkpoint, if the config asks for it."""
        if checkpoint not in cfg.retrieval.checkpoints:
            return []
        rc = cfg.retrieval
        ddir = Path(common["data_dir"]) if common.get("data_dir") else None
        check_retrieval_languages(rc.languages, tasks)
        out: list[StepRequest] = []
        for task in tasks:
            spec = get_task(task)
            langs = retrieval_languages(cfg, spec)
            if not langs:
                continue
            kind = kind_of(spec)
            split = kind.data_split(rc.split)
            params = {
                **common,
                "model": mref,
                "task": task,
                "task_version": spec.version,
                "languages": langs,
                "split": rc.split,
                "layer": rc.layer,
                "prefix": rc.prefix,
                "max_examples": rc.max_examples,
                "batch_size": rc.batch_size,
                "max_length": rc.max_length,
                "k": rc.k if rc.k is not None else kind.default_k,
                "heldout_seed": rc.heldout_seed,
                "checkpoint": checkpoint,
                **({"precision": rc.precision} if rc.precision != "fp32" else {}),
                "data": [data_fp(spec, split, lang, ddir) for lang in langs],
                "labels": {
                    "run_id": cfg.name,
                    "config_hash": cfg.digest(),
                    "model": ref.name,
                    "intermediate": setup_label,
                    "target": target,
                    "seed": seed,
                },
            }
            where = {"pretrained": "pretrained encoder", "intermediate": f"after {setup_label}"}
            shown = where.get(checkpoint, f"after {target} (after {setup_label})")
            out.append(
                StepRequest(
                    "retrieve",
                    params,
                    deps={"checkpoint": dep} if dep else {},
                    label=f"retrieve {task} on {shown} seed {seed}",
                )
            )
        return out


def is_retrieval(task: str) -> bool:
    return get_task(task).protocol == Retrieval.name


def retrieval_tasks(cfg: Any, targets: list[str]) -> list[str]:
    """``retrieval.tasks`` plus the retrieval targets (in that order, no repeats)."""
    from xstilts.tasks.registry import expand_tasks

    out = expand_tasks(list(cfg.retrieval.tasks), where="retrieval.tasks")
    for t in out:
        if not is_retrieval(t):
            raise ConfigError(
                f"{t} is a {get_task(t).family} task, not a retrieval task", where="retrieval.tasks"
            )
    out += [t for t in targets if is_retrieval(t) and t not in out]
    return out


def retrieval_languages(cfg: Any, spec: TaskSpec) -> list[str]:
    """Configured languages this task has; else the benchmark's list for it; else all."""
    asked = cfg.retrieval.languages
    if isinstance(asked, dict):
        asked = asked.get(spec.name)
    if asked is not None:
        return [lang for lang in asked if lang in spec.languages]
    bench = spec.defaults.get("benchmark_languages", {}).get(cfg.benchmark or "")
    return list(bench) if bench else list(spec.languages)


def check_retrieval_languages(asked: Any, tasks: list[str]) -> None:
    """Every configured language belongs to a retrieval task (per task when given per task)."""
    if isinstance(asked, dict):
        unknown = [t for t in asked if t not in tasks]
        if unknown:
            raise ConfigError(
                f"{unknown[0]} is not one of the retrieval tasks ({', '.join(tasks)})",
                where="retrieval.languages",
            )
        pairs = [(t, lang) for t, langs in asked.items() for lang in langs]
    else:
        pairs = [(t, lang) for lang in asked or [] for t in tasks]
    known = {(t, lang) for t in tasks for lang in get_task(t).languages}
    if isinstance(asked, dict):
        bad = [f"{lang} ({t})" for t, lang in pairs if (t, lang) not in known]
    else:
        have = {lang for _, lang in known}
        bad = sorted({lang for _, lang in pairs if lang not in have})
    if bad:
        raise ConfigError(
            f"unknown language(s) {', '.join(bad)} for the retrieval tasks",
            where="retrieval.languages",
        )


def data_fp(spec: TaskSpec, split: str, lang: str, data_dir: Path | None) -> str:
    """The first local file of (split, language): path, size, mtime (in the step's key)."""
    from xstilts.data.sources import resolve_local

    for src in spec.split_sources(split, lang):
        path = resolve_local(src, spec, lang, data_dir)
        if path is not None:
            st = path.stat()
            return f"{path}:{st.st_size}:{st.st_mtime_ns}"
    return "missing"
