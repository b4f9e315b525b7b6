"""The foundation's acceptance check: English XNLI training, zero-shot in 14 languages, real encoder.

CI trains on a slice of the 5,010 labelled English rows of ``xnli/test-en.tsv`` and evaluates on
``dev-<lang>.tsv`` (different rows, so no leakage). The full check (all 5,010 rows, all 2,490 dev
rows per language) is ``-m full``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import binomtest

from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultsStore

XNLI_LANGS = ["ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]


def _run(tmp: Path, data: Path, train_rows: int | None, eval_rows: int | None) -> list[dict]:
    cfg = parse_config(
        {
            "name": "xnli-zero-shot",
            "target": "xnli",
            "baseline": True,
            "seeds": [1],
            "phases": {
                "target": {
                    "learning_rate": 1e-4,
                    "epochs": 1,
                    "batch_size": 16,
                    "max_length": 64,
                    "freeze_embeddings": True,
                    "train_split": "test",
                    "max_examples": train_rows,
                    "dev_split": None,
                }
            },
            "evaluation": {"split": "dev", "max_examples": eval_rows},
        }
    )
    plan = build_plan(cfg, data_dir=str(data))
    LocalExecutor().run(plan, tmp)
    return [r for r in ResultsStore(tmp).rows() if r["metric"] == "accuracy"]


def _check(rows: list[dict], n: int) -> None:
    by_lang = {r["language"]: r["value"] for r in rows}
    print("zero-shot accuracy:", {k: round(v, 3) for k, v in sorted(by_lang.items())})
    assert set(XNLI_LANGS) <= set(by_lang), sorted(by_lang)
    for lang in XNLI_LANGS:
        acc = by_lang[lang]
        # far above chance: a one-sided binomial test against 1/3 at p < 0.001
        p = binomtest(round(acc * n), n, 1 / 3, alternative="greater").pvalue
        assert p < 1e-3, (
            f"{lang}: accuracy {acc:.3f} on {n} rows is not far above chance (p={p:.2g})"
        )
    # the average over the non-English languages, computed on read (steps store languages only)
    assert "avg" not in by_lang
    assert sum(by_lang[lang] for lang in XNLI_LANGS) / len(XNLI_LANGS) > 0.42


@pytest.mark.slow
def test_xnli_zero_shot_slice(tmp_path, shared_data, offline_encoder):
    rows = _run(tmp_path, shared_data, train_rows=2000, eval_rows=200)
    _check(rows, 200)


@pytest.mark.full
def test_xnli_zero_shot_full(tmp_path, shared_data, offline_encoder):
    rows = _run(tmp_path, shared_data, train_rows=None, eval_rows=None)
    _check(rows, 2490)
