"""One shared encoder with a head per task: the unit that phases train and pass along."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from xstilts.errors import ConfigError
from xstilts.models.heads import HEADS


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.head_specs: dict[str, dict] = {}
        # Digest of the pretrained word-embedding table (the bulk of a multilingual encoder: 96M of
        # multilingual-e5-small's 118M parameters). A checkpoint whose table is still bitwise the
        # pretrained one (frozen embeddings, the usual small-scale set-up) stores the digest
        # instead of the table: 470 MB -> 86 MB per checkpoint, and loading checks the digest.
        self.base_digests: dict[str, str] = {
            f"encoder.{name}": tensor_digest(t) for name, t in _embedding_tables(encoder)
        }

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def add_head(self, task: str, kind: str, params: dict) -> None:
        cfg = HEADS.params(kind, params, where=f"head[{task}]")
        head = HEADS.get(kind).obj(self.hidden_size, cfg)
        if hasattr(head, "tie_to"):  # e.g. the MLM head shares the word embeddings
            head.tie_to(self.encoder)
        self.heads[_key(task)] = head
        self.head_specs[task] = {"kind": kind, "params": cfg.model_dump()}

    def encode(self, input_ids, attention_mask, token_type_ids=None, output_hidden_states=False):
        kw = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kw["token_type_ids"] = token_type_ids
        return self.encoder(**kw, output_hidden_states=output_hidden_states, return_dict=True)

    def forward(self, task: str, input_ids, attention_mask, token_type_ids=None, **extra):
        out = self.encode(input_ids, attention_mask, token_type_ids)
        return self.heads[_key(task)](out.last_hidden_state, attention_mask, **extra)

    def freeze_embeddings(self) -> None:
        """Freeze the word embeddings (the 96M-parameter table of XLM-R-vocab models)."""
        emb = self.encoder.get_input_embeddings()
        for p in emb.parameters():
            p.requires_grad_(False)


def inference_dtype(precision: str) -> torch.dtype:
    """The weight dtype of a resolved precision (``fp32``/``bf16``); the device policy
    (``models/device.py``) decides which one runs."""
    from xstilts.models.device import DTYPES

    return DTYPES[precision]


def _key(task: str) -> str:
    return task.replace(".", "_")


def tensor_digest(t: torch.Tensor) -> str:
    """Content hash of a tensor's bytes (dtype and shape included)."""
    t = t.detach().contiguous().cpu()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
    return h.hexdigest()


def _embedding_tables(encoder: nn.Module) -> list[tuple[str, torch.Tensor]]:
    get = getattr(encoder, "get_input_embeddings", None)
    emb = get() if get else None
    if emb is None:
        return []
    ids = {id(p) for p in emb.parameters()}
    return [(n, p) for n, p in encoder.named_parameters() if id(p) in ids]


INHERITED = "inherited.json"


def save_checkpoint(model: MultiTaskModel, out: Path, meta: dict) -> None:
    """Encoder and heads as safetensors plus the encoder config and head specs (no pickle).

    Tensors still bitwise equal to the pretrained encoder's are recorded by digest in
    ``inherited.json`` instead of being written again (see ``MultiTaskModel.base_digests``).
    """
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    inherited = {
        k: d for k, d in model.base_digests.items() if k in state and tensor_digest(state[k]) == d
    }
    for k in inherited:
        del state[k]
    save_file(_dedupe(state), str(out / "model.safetensors"))
    (out / INHERITED).write_text(json.dumps(inherited, indent=2))
    model.encoder.config.to_json_file(str(out / "config.json"))
    (out / "heads.json").write_text(json.dumps(model.head_specs, indent=2))
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str))


def _dedupe(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    seen: dict[int, str] = {}
    out = {}
    for k, v in state.items():
        ptr = v.data_ptr()
        if ptr in seen and v.numel() > 0:
            v = v.clone()
        seen[ptr] = k
        out[k] = v
    return out


def load_state(model: MultiTaskModel, ckpt: Path, *, encoder_only: bool) -> None:
    """Load weights from a checkpoint dir; with ``encoder_only`` heads stay fresh (phase hand-off)."""
    path = ckpt / "model.safetensors"
    if not path.exists():
        raise ConfigError(f"no model.safetensors in checkpoint {ckpt}", where="checkpoint")
    state = load_file(str(path))
    inherited = _inherited(model, ckpt)
    if encoder_only:
        state = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
        missing, unexpected = model.encoder.load_state_dict(state, strict=False)
    else:
        heads = json.loads((ckpt / "heads.json").read_text())
        for task, spec in heads.items():
            if _key(task) not in model.heads:
                model.add_head(task, spec["kind"], spec["params"])
        missing, unexpected = model.load_state_dict(state, strict=False)
    skip = {k[len("encoder.") :] for k in inherited} if encoder_only else set(inherited)
    bad = [k for k in missing if "position_ids" not in k and k not in skip]
    if bad or unexpected:
        raise ConfigError(
            f"checkpoint {ckpt} does not match the model (missing {bad[:3]}, unexpected "
            f"{list(unexpected)[:3]})",
            where="checkpoint",
        )


def _inherited(model: MultiTaskModel, ckpt: Path) -> dict[str, str]:
    """Tensors the checkpoint takes from the pretrained encoder; checked by digest, not trusted."""
    f = ckpt / INHERITED
    if not f.exists():
        return {}
    inherited: dict[str, str] = json.loads(f.read_text())
    current = model.state_dict()
    for k, d in inherited.items():
        if k not in current or tensor_digest(current[k]) != d:
            raise ConfigError(
                f"checkpoint {ckpt} inherits {k} from a different pretrained encoder "
                "(digest mismatch): rebuild it with the encoder it was trained from",
                where="checkpoint",
            )
    return inherited
