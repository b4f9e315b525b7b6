"""Fixtures with real sentences from the shared data (read in place, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from perturb_data import panx_sentences, xnli_sentences


@pytest.fixture(scope="session")
def sentences(shared_data: Path) -> dict[str, list[str]]:
    d = {lang: xnli_sentences(shared_data, lang) for lang in ("hi", "th", "zh", "ar", "de")}
    d["ta"] = [" ".join(t) for t, _ in panx_sentences(shared_data, "ta", 40)]
    return d


@pytest.fixture(scope="session")
def xquad_examples(shared_data: Path) -> dict[str, list[dict]]:
    out = {}
    for lang in ("de", "th", "zh", "hi"):
        data = json.loads(
            (shared_data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8")
        )
        exs = []
        for art in data["data"][:2]:
            for p in art["paragraphs"][:3]:
                for qa in p["qas"][:3]:
                    exs.append(
                        {
                            "id": qa["id"],
                            "context": p["context"],
                            "question": qa["question"],
                            "answers": qa["answers"],
                        }
                    )
        out[lang] = exs
    return out
