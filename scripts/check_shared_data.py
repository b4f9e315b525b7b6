"""Measure the two defects of ``../shared/data`` that block acceptance checks (docs/results).

1. ``udpos_xtreme/test-<l>.tsv``: share of punctuation-only tokens tagged ``PUNCT``, against the
   same share in the clean CoNLL-U treebanks of ``ud/``; far below means the tags are shifted
   against the tokens.
2. ``tydiqa_goldp`` dev files (XTREME's TyDiQA test sets): questions with a non-empty answer.

    python scripts/check_shared_data.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path


def _punct_only(token: str) -> bool:
    return bool(token) and all(unicodedata.category(c).startswith("P") for c in token)


def punct_rate(path: Path, form: int, tag: int) -> tuple[int, float]:
    """(punctuation-only tokens, share of them tagged PUNCT); ``form``/``tag``: column indices."""
    n = hits = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) > max(form, tag) and _punct_only(parts[form].strip()):
            n += 1
            hits += parts[tag] == "PUNCT"
    return n, hits / n if n else float("nan")


def tydiqa_labelled(path: Path) -> tuple[int, int]:
    """(questions with a non-empty answer text, questions)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    qas = [q for a in data for p in a["paragraphs"] for q in p["qas"]]
    return sum(any(x.get("text") for x in q.get("answers", [])) for q in qas), len(qas)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data"
    )
    a = ap.parse_args()
    print("udpos_xtreme: punctuation-only tokens tagged PUNCT")
    for f in sorted((a.data / "udpos_xtreme").glob("test-*.tsv")):
        n, rate = punct_rate(f, 0, 1)
        print(f"  {f.stem[5:]:>3}  {rate:6.1%} of {n}")
    print("ud/ CoNLL-U test treebanks: the same share")
    for f in sorted((a.data / "ud").glob("*/*-ud-test.conllu")):
        n, rate = punct_rate(f, 1, 3)
        print(f"  {f.parent.name:>18}  {rate:6.1%} of {n}")
    print("tydiqa_goldp dev: questions with a non-empty answer")
    for f in sorted((a.data / "tydiqa_goldp" / "tydiqa-goldp-v1.1-dev").glob("*.json")):
        k, n = tydiqa_labelled(f)
        print(f"  {f.name.split('.')[2]:>3}  {k} of {n}")


if __name__ == "__main__":
    main()
