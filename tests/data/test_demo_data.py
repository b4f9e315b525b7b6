"""The shipped demo data: reproducible from its generator, balanced, parallel, leak-free."""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import pytest
import regex

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_demo_data.py"
DEMO = ROOT / "src" / "xstilts" / "data" / "demo"

LANGS = ["en", "de", "fr", "es", "ru", "zh", "hi", "ar", "sw"]
SCRIPTS = {
    "en": "Latin",
    "de": "Latin",
    "fr": "Latin",
    "es": "Latin",
    "sw": "Latin",
    "ru": "Cyrillic",
    "zh": "Han",
    "hi": "Devanagari",
    "ar": "Arabic",
}
SENT_LABELS = {"negative", "neutral", "positive"}
NLI_LABELS = {"entailment", "neutral", "contradiction"}


def read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header, *rows = (line.split("\t") for line in lines)
    assert all(len(r) == len(header) for r in rows), path
    return header, rows


def demo_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*.tsv"))


def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True
    )
    assert demo_files(tmp_path) == demo_files(DEMO)
    for rel in demo_files(DEMO):
        assert (tmp_path / rel).read_bytes() == (DEMO / rel).read_bytes(), rel


def test_expected_files_and_sizes() -> None:
    expected = {
        "sentiment/train-en.tsv": 300,
        "sentiment/dev-en.tsv": 99,
        "nli/train-en.tsv": 402,
        "nli/dev-en.tsv": 102,
    } | {f"sentiment/test-{lang}.tsv": 99 for lang in LANGS}
    assert {str(p) for p in demo_files(DEMO)} == set(expected)
    for rel, n in expected.items():
        assert len(read_tsv(DEMO / rel)[1]) == n, rel


@pytest.mark.parametrize(
    "rel",
    ["sentiment/train-en.tsv", "sentiment/dev-en.tsv"]
    + [f"sentiment/test-{lang}.tsv" for lang in LANGS],
)
def test_sentiment_balanced(rel: str) -> None:
    header, rows = read_tsv(DEMO / rel)
    assert header == ["text", "label"]
    counts = collections.Counter(r[1] for r in rows)
    assert set(counts) == SENT_LABELS
    assert len(set(counts.values())) == 1, counts
    assert all(r[0].strip() == r[0] and r[0] for r in rows)


@pytest.mark.parametrize("rel", ["nli/train-en.tsv", "nli/dev-en.tsv"])
def test_nli_balanced(rel: str) -> None:
    header, rows = read_tsv(DEMO / rel)
    assert header == ["premise", "hypothesis", "label"]
    counts = collections.Counter(r[2] for r in rows)
    assert set(counts) == NLI_LABELS
    assert len(set(counts.values())) == 1, counts
    assert len({(r[0], r[1]) for r in rows}) == len(rows)  # no duplicate pairs


def test_nli_dev_premises_unseen_in_train() -> None:
    train = {r[0] for r in read_tsv(DEMO / "nli/train-en.tsv")[1]}
    dev = {r[0] for r in read_tsv(DEMO / "nli/dev-en.tsv")[1]}
    assert not train & dev


def test_sentiment_test_files_parallel() -> None:
    tests = {lang: read_tsv(DEMO / f"sentiment/test-{lang}.tsv")[1] for lang in LANGS}
    en_labels = [r[1] for r in tests["en"]]
    for lang, rows in tests.items():
        assert [r[1] for r in rows] == en_labels, lang
        assert len({r[0] for r in rows}) == len(rows), lang  # no duplicate items
    # Parallel, not copies: no non-English row equals its English row.
    for lang in LANGS[1:]:
        assert all(a[0] != b[0] for a, b in zip(tests["en"], tests[lang], strict=True)), lang


def test_sentiment_no_test_item_in_training() -> None:
    train = {r[0] for r in read_tsv(DEMO / "sentiment/train-en.tsv")[1]}
    dev = {r[0] for r in read_tsv(DEMO / "sentiment/dev-en.tsv")[1]}
    test = {r[0] for r in read_tsv(DEMO / "sentiment/test-en.tsv")[1]}
    assert not test & train
    assert not test & dev
    # Stronger: the first sentence (subject + opinion) of a test item never occurs in training.
    first = regex.compile(r"^.*?[.!?](?=\s|$)")
    train_heads = {first.match(t).group(0) for t in train}  # type: ignore[union-attr]
    test_heads = {first.match(t).group(0) for t in test}  # type: ignore[union-attr]
    assert not test_heads & train_heads


@pytest.mark.parametrize("lang", LANGS)
def test_sentiment_rows_in_their_script(lang: str) -> None:
    script = regex.compile(rf"\p{{Script={SCRIPTS[lang]}}}")
    for text, _ in read_tsv(DEMO / f"sentiment/test-{lang}.tsv")[1]:
        assert script.search(text), (lang, text)
        if SCRIPTS[lang] != "Latin":
            # Nothing in Latin letters slipped through untranslated.
            assert not regex.search(r"\p{Script=Latin}", text), (lang, text)
