"""Make ``import textattack`` work offline (benchmark-only; see benchmarks/setup_peers.sh).

1. an empty ``post_install_check_3`` marker in ``$TA_CACHE_DIR`` skips TextAttack's six
   ``nltk.download`` calls on first import (``TA_CACHE_DIR`` also overrides ``HF_HOME``, so it is
   set to a benchmark folder and ``HF_HOME`` is left alone for the model);
2. a stub ``flair`` package on ``sys.path`` (flair 0.15 needs transformers < 5); it raises if used,
   which only POS/NER-constrained recipes would do;
3. an NLTK ``stopwords`` corpus written from the PyPI ``stop-words`` package (not NLTK's own list).

    python benchmarks/ta_env.py --check     # builds the pieces and imports textattack
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE = Path(os.environ.get("XSTILTS_BENCH_PEERS", Path.home() / ".cache" / "xstilts-bench-peers"))

_FLAIR = """\
# Stub: lets `import textattack` run without flair (which needs transformers<5).
device = "cpu"
__version__ = "0.0-stub"
def _no(*a, **k):
    raise RuntimeError("flair stub: POS/NER constraints need the real flair package")
from . import data, embeddings, models  # noqa: E402
"""
_FLAIR_DATA = """\
class Sentence:
    def __init__(self, *a, **k):
        raise RuntimeError("flair stub")
class Tokenizer:
    pass
"""
_FLAIR_MODELS = """\
class SequenceTagger:
    @classmethod
    def load(cls, *a, **k):
        raise RuntimeError("flair stub")
"""
_FLAIR_EMB = """\
class WordEmbeddings:
    def __init__(self, *a, **k):
        raise RuntimeError("flair stub")
"""


def prepare() -> dict[str, str]:
    """Create the three pieces; return the environment variables to set before the import."""
    ta_cache = BASE / "ta_cache"
    ta_cache.mkdir(parents=True, exist_ok=True)
    (ta_cache / "post_install_check_3").touch()
    stub = BASE / "stubs" / "flair"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text(_FLAIR)
    (stub / "data.py").write_text(_FLAIR_DATA)
    (stub / "models.py").write_text(_FLAIR_MODELS)
    (stub / "embeddings.py").write_text(_FLAIR_EMB)
    nltk_data = BASE / "nltk_data"
    sw = nltk_data / "corpora" / "stopwords"
    if not (sw / "english").exists():
        from stop_words import get_stop_words

        sw.mkdir(parents=True, exist_ok=True)
        for lang in ("english", "german"):
            (sw / lang).write_text("\n".join(get_stop_words(lang)) + "\n", encoding="utf-8")
        (sw / "README").write_text("written from the PyPI stop-words package, not NLTK's list\n")
    return {
        "TA_CACHE_DIR": str(ta_cache),
        "NLTK_DATA": str(nltk_data),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(BASE / "stubs"), os.environ.get("PYTHONPATH", "")) if p
        ),
    }


def activate() -> None:
    """Set the environment in this process (before ``import textattack``)."""
    env = prepare()
    os.environ["TA_CACHE_DIR"] = env["TA_CACHE_DIR"]
    os.environ["NLTK_DATA"] = env["NLTK_DATA"]
    stubs = str(BASE / "stubs")
    if stubs not in sys.path:
        sys.path.insert(0, stubs)


if __name__ == "__main__":
    hf_home = os.environ.get("HF_HOME")
    activate()
    import textattack  # noqa: F401

    print("textattack", textattack.__file__, "ok; HF_HOME now", os.environ.get("HF_HOME"), hf_home)
