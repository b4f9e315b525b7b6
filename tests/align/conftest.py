"""One small real run shared by the alignment tests: the pretrained offline encoder and one
checkpoint after a short intermediate training on the shipped demo-nli task, probed on Tatoeba
for 20 languages through the ordinary config -> plan -> executor path."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from align_langs import TATOEBA_20


@pytest.fixture(scope="session")
def hidden_cache(tmp_path_factory) -> Path:
    """A private hidden-state cache, so cache hits/misses in tests never depend on earlier runs."""
    d = tmp_path_factory.mktemp("hidden")
    old = os.environ.get("XSTILTS_HIDDEN_CACHE")
    os.environ["XSTILTS_HIDDEN_CACHE"] = str(d)
    yield d
    if old is None:
        os.environ.pop("XSTILTS_HIDDEN_CACHE", None)
    else:
        os.environ["XSTILTS_HIDDEN_CACHE"] = old


@pytest.fixture(scope="session")
def align_run(tmp_path_factory, shared_data, offline_encoder, hidden_cache):
    """``(out_dir, config, seconds)`` of a run with an ``alignment:`` section."""
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.executors import LocalExecutor
    from xstilts.experiments.plan import build_plan

    out = tmp_path_factory.mktemp("align_run")
    cfg = parse_config(
        {
            "name": "align-ci",
            "model": "offline",
            "intermediate": ["demo-nli"],
            "baseline": False,
            "seeds": [1],
            "phases": {
                # a high learning rate, so that training visibly moves the upper layers
                "intermediate": {
                    "learning_rate": 3e-4,
                    "max_steps": 8,
                    "batch_size": 8,
                    "warmup": 0.0,
                    "max_length": 64,
                    "freeze_embeddings": True,
                    "select_best": False,
                },
            },  # fmt: skip
            "alignment": {
                "inputs": ["tatoeba"],
                "languages": TATOEBA_20,
                "max_sentences": 30,
                "max_length": 48,
                "checkpoints": ["pretrained", "intermediate"],
                "metrics": ["retrieval", "geometry", "cka", "lang_id"],
                "probe_max_per_language": 30,
            },
        }
    )
    plan = build_plan(cfg, data_dir=str(shared_data))
    t0 = time.perf_counter()
    LocalExecutor().run(plan, out)
    return out, cfg, plan, time.perf_counter() - t0
