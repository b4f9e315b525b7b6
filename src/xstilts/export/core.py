"""``export_checkpoint``: checkpoint -> transformers directory, checked on a probe input."""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from xstilts.errors import ConfigError, XstiltsError
from xstilts.experiments.store import ArtifactStore
from xstilts.export.card import model_card
from xstilts.export.layouts import Layout, NoLayout, layout_for
from xstilts.export.select import Candidate, select

PROBE = [
    "Cross-lingual transfer check: the model must give the same logits here.",
    "Der Export muss dieselben Logits liefern.",
]
TOLERANCE = 1e-4


@dataclass
class ExportResult:
    path: Path
    key: str
    auto_class: str  # the class that loads it: AutoModelFor... or AutoModel
    task: str | None  # the head's task (None for an intermediate checkpoint's bare encoder)
    note: str | None  # why the head is not a transformers class, when it is not
    max_diff: float | None  # largest |logit difference| on the probe (None: bare encoder)


def _load(out_dir: Path, cand: Candidate):
    """The checkpoint as xstilts uses it (``models/build.py``, the one loader: base encoder,
    checkpoint weights, inherited digests), with its tokenizer."""
    from xstilts.models.build import load_model
    from xstilts.models.encoder import EncoderRef

    store = ArtifactStore(out_dir)
    p = store.meta(cand.key)["params"]
    ref = EncoderRef(**p["model"])
    model, tok = load_model(ref, store.path(cand.key), p, encoder_only=False)
    return model, tok, ref, p


def _task_labels(task: str) -> list[str] | None:
    from xstilts.tasks.registry import get_task

    try:
        return list(get_task(task).labels or []) or None
    except XstiltsError:
        return None


def _hf_task_model(model, layout: Layout):
    """The transformers class of the layout, filled with the encoder and the head's tensors."""
    import transformers

    cfg = copy.deepcopy(model.encoder.config)
    for k, v in layout.config.items():
        setattr(cfg, k, v)
    hf = getattr(transformers, layout.auto_class).from_config(cfg)
    base = hf.base_model_prefix
    state = {f"{base}.{k}": v for k, v in model.encoder.state_dict().items()}
    state |= {k.replace("{base}", base): v.detach() for k, v in layout.tensors.items()}
    missing, unexpected = hf.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise XstiltsError(
            f"the {layout.auto_class} layout does not cover the model (missing {missing[:3]}, "
            f"unexpected {list(unexpected)[:3]})",
            where="export",
        )
    return hf.eval()


def _logits(hf, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    out = hf(**batch)
    if hasattr(out, "start_logits") and getattr(out, "logits", None) is None:
        return torch.stack([out.start_logits, out.end_logits], dim=-1)
    return out.logits


def _check(model, hf, task: str, tok) -> float:
    """Largest |difference| between xstilts' logits and the exported model's on the probe, both
    in fp32 on the device policy's device (``models/device.py``), then back on the CPU to save."""
    from xstilts.models.device import place

    dev = place(model, "fp32", where="export").device
    hf.to(device=dev, dtype=torch.float32)
    enc = tok(PROBE, padding=True, return_tensors="pt")
    batch = {k: enc[k].to(dev) for k in ("input_ids", "attention_mask")}
    try:
        with torch.inference_mode():
            ours = model(task, **batch).float()
            theirs = _logits(hf, batch).float()
    finally:
        model.to("cpu")
        hf.to("cpu")
    if theirs.shape != ours.shape:
        theirs = theirs.reshape(ours.shape)
    mask = batch["attention_mask"].bool()
    if ours.dim() >= 2 and ours.shape[:2] == mask.shape:  # per token: padding positions aside
        ours, theirs = ours[mask], theirs[mask]
    return float((ours - theirs).abs().max())


def export_checkpoint(
    out_dir: str | Path,
    to: str | Path,
    *,
    step: str | None = None,
    model: str | None = None,
    intermediate: str | None = None,
    target: str | None = None,
    seed: int | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write the chosen checkpoint of ``out_dir`` to ``to`` as a transformers directory.

    Target checkpoints get their head as ``AutoModelFor...`` where transformers has a class
    computing the same function (checked on a probe, to 1e-4); otherwise, and for intermediate
    checkpoints, the bare encoder (``AutoModel``), the head kept beside it in
    ``xstilts_head.safetensors``. The directory appears complete or not at all.
    """
    from safetensors.torch import save_file

    out_dir, to = Path(out_dir), Path(to)
    cand = select(
        out_dir, step=step, model=model, intermediate=intermediate, target=target, seed=seed
    )
    if to.exists() and any(to.iterdir()) and not overwrite:
        raise ConfigError("exists and is not empty (pass --overwrite to replace it)", where=str(to))
    mt, tok, ref, params = _load(out_dir, cand)
    model_type = str(getattr(mt.encoder.config, "model_type", ""))
    task = params["tasks"][0] if cand.role == "target" and params.get("tasks") else None
    note: str | None = None
    hf: Any = None
    max_diff = None
    auto_class = "AutoModel"
    head_tensors: dict[str, torch.Tensor] = {}
    if task is not None:
        from xstilts.models.model import _key

        spec = mt.head_specs[task]
        head = mt.heads[_key(task)]
        lay = layout_for(spec["kind"], head, spec["params"], model_type, _task_labels(task))
        if isinstance(lay, NoLayout):
            note = lay.reason + "; the encoder is exported as AutoModel and the head's weights "
            note += "are in xstilts_head.safetensors (spec in xstilts_head.json)"
            head_tensors = {k: v.detach().contiguous() for k, v in head.state_dict().items()}
        else:
            hf = _hf_task_model(mt, lay)
            max_diff = _check(mt, hf, task, tok)
            if not max_diff <= TOLERANCE:
                raise XstiltsError(
                    f"the exported {lay.auto_class} differs from xstilts' model by {max_diff:.2e} "
                    "on the probe input: not exported",
                    where="export",
                )
            auto_class = lay.auto_class
    tmp = to.with_name(to.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    target_model = hf if hf is not None else mt.encoder
    target_model.config.xstilts_pooling = ref.pooling  # xstilts reads it back as the pooling
    target_model.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    if head_tensors:
        import json

        save_file(head_tensors, str(tmp / "xstilts_head.safetensors"))
        (tmp / "xstilts_head.json").write_text(
            json.dumps({task: mt.head_specs[task]}, indent=2), encoding="utf-8"
        )
    langs = _languages(task or (params.get("tasks") or [None])[0])
    card = model_card(
        out_dir,
        cand,
        auto_class=auto_class,
        note=note,
        languages=langs,
        base_model=ref.name,
        base_is_hub=not ref.local,
    )
    (tmp / "README.md").write_text(card, encoding="utf-8")
    if to.exists():
        shutil.rmtree(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, to)
    return ExportResult(to, cand.key, auto_class, task, note, max_diff)


def _languages(task: str | None) -> list[str]:
    if not task:
        return []
    from xstilts.tasks.registry import get_task

    try:
        return [lang for lang in get_task(task).languages if "-" not in lang]
    except XstiltsError:
        return []


def push_to_hub(path: str | Path, repo: str, *, private: bool = False, token: str | None = None):
    """Upload an exported directory to a hub repository (created when missing)."""
    try:
        from huggingface_hub import HfApi
    except ImportError:  # pragma: no cover - a dependency of transformers
        raise ConfigError(
            "needs huggingface_hub (pip install huggingface_hub)", where="--push-to-hub"
        ) from None
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id=repo, private=private, exist_ok=True)
        return api.upload_folder(
            folder_path=str(path), repo_id=repo, commit_message="Upload from xstilts export"
        )
    except OSError as exc:  # offline, unreachable endpoint, refused token
        raise XstiltsError(
            f"push failed: {str(exc).splitlines()[0][:160]}", where="--push-to-hub"
        ) from None
