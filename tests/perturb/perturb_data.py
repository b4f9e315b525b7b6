"""Readers of real sentences from the shared data (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path


def xnli_sentences(shared: Path, lang: str, n: int = 40) -> list[str]:
    out: list[str] = []
    with (shared / "xnli" / f"dev-{lang}.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            for s in parts[:2]:
                if s and s not in out:
                    out.append(s)
            if len(out) >= n:
                break
    return out[:n]


def panx_sentences(shared: Path, lang: str, n: int = 40) -> list[tuple[list[str], list[str]]]:
    out, toks, tags = [], [], []
    with (shared / "panx" / f"dev-{lang}.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                if toks:
                    out.append((toks, tags))
                    toks, tags = [], []
                    if len(out) >= n:
                        break
                continue
            tok, tag = line.rsplit("\t", 1)
            toks.append(tok)
            tags.append(tag)
    return out
