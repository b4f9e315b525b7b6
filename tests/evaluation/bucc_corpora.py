"""Deterministic BUCC corpora and embeddings shared by the BUCC tests and the run of XTREME's own
scripts that produced ``xtreme_official/bucc_*`` (see ``xtreme_official/PROVENANCE.md``).

Embeddings are built from CRC32 hashes with exact float64 arithmetic and then cast to float32, so
the test and the recorded official run see bit-identical inputs. Only numpy and zlib are used: the
official run imports this file from a separate environment without xstilts.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

DIM = 16


def _unit(key: str, dim: int = DIM) -> np.ndarray:
    """A pseudo-random vector in [-1, 1]^dim from ``key`` (exact in float64)."""
    return np.array([(zlib.crc32(f"{d}\t{key}".encode()) % 2001 - 1000) / 1000 for d in range(dim)])


def text_embeddings(texts: list[str], dim: int = DIM) -> np.ndarray:
    """One vector per sentence from its text alone: equal sentences get equal vectors."""
    return np.stack([_unit(t, dim) for t in texts]) if texts else np.zeros((0, dim))


def paired_embeddings(
    src_ids: list[str],
    src_texts: list[str],
    tgt_ids: list[str],
    tgt_texts: list[str],
    gold: list[tuple[str, str]],
    dim: int = DIM,
) -> tuple[np.ndarray, np.ndarray]:
    """Target rows from their text; a source row in a gold pair is its partner's vector plus
    id-keyed noise of one of four strengths, so mining finds some pairs and misses others."""
    y = text_embeddings(tgt_texts, dim)
    x = text_embeddings(src_texts, dim)
    tpos = {t: i for i, t in enumerate(tgt_ids)}
    spos = {s: i for i, s in enumerate(src_ids)}
    for s, t in gold:
        scale = (zlib.crc32(s.encode()) % 4) * 0.35
        x[spos[s]] = y[tpos[t]] + scale * _unit("noise:" + s, dim)
    return x.astype(np.float32), y.astype(np.float32)


def synthetic_corpus() -> dict:
    """A small de-en corpus with repeated sentences on both sides (exact and whitespace-only
    repeats, some of them in gold pairs) and sentences whose margins are 0."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    src_texts = [f"{words[i % 12]} {words[(i * 5) % 12]} satz {i}" for i in range(40)]
    tgt_texts = [f"{words[(i * 7) % 12]} {words[i % 12]} sentence {i}" for i in range(52)]
    # exact repeats, a repeat differing only by trailing whitespace, a triple
    src_texts[7] = src_texts[3]
    src_texts[21] = src_texts[3]
    src_texts[30] = src_texts[12] + " "
    src_texts[33] = src_texts[18]
    tgt_texts[9] = tgt_texts[2]
    tgt_texts[40] = tgt_texts[15]
    tgt_texts[44] = " " + tgt_texts[27]
    src_ids = [f"de-{i:06d}" for i in range(40)]
    tgt_ids = [f"en-{i:06d}" for i in range(52)]
    gold_idx = [(0, 1), (3, 2), (5, 11), (8, 8), (12, 15), (14, 20), (16, 27), (18, 30)]
    gold_idx += [(19, 31), (23, 36), (25, 38), (27, 41), (29, 47), (34, 50), (36, 4), (38, 6)]
    gold = [(src_ids[i], tgt_ids[j]) for i, j in gold_idx]
    x, y = paired_embeddings(src_ids, src_texts, tgt_ids, tgt_texts, gold)
    # three source sentences with a zero vector: cosine 0 with everything, so margin exactly 0,
    # which XTREME drops (it keeps margins > 0)
    for i in (10, 26, 39):
        x[i] = 0.0
    return {
        "src_ids": src_ids,
        "src_texts": src_texts,
        "tgt_ids": tgt_ids,
        "tgt_texts": tgt_texts,
        "gold": gold,
        "x": x,
        "y": y,
    }


def read_side(path: Path) -> tuple[list[str], list[str]]:
    """``id<TAB>sentence`` lines as XTREME's ``cut -f1`` / ``cut -f2`` split them."""
    ids, texts = [], []
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        i, t = line.split("\t")
        ids.append(i)
        texts.append(t)
    return ids, texts


def real_corpus(bucc_dir: Path, src: str = "zh") -> dict:
    """The real ``<src>-en.dev`` corpus with ``paired_embeddings``."""
    src_ids, src_texts = read_side(bucc_dir / f"{src}-en.dev.{src}")
    tgt_ids, tgt_texts = read_side(bucc_dir / f"{src}-en.dev.en")
    gold_lines = (bucc_dir / f"{src}-en.dev.gold").read_text(encoding="utf-8").split("\n")
    gold = [tuple(ln.split("\t")) for ln in gold_lines if ln.strip()]
    x, y = paired_embeddings(src_ids, src_texts, tgt_ids, tgt_texts, gold)
    return {
        "src_ids": src_ids,
        "src_texts": src_texts,
        "tgt_ids": tgt_ids,
        "tgt_texts": tgt_texts,
        "gold": gold,
        "x": x,
        "y": y,
    }


def negative_margin_corpus() -> dict:
    """Six source and seven target sentences where ``max`` mining keeps the pair (s1, t3) with a
    negative ratio margin (-0.357): XTREME drops it (it prints only margins > 0)."""
    x = [[-1.93, -3.02, 1.15], [1.56, 1.33, -0.43], [-0.07, -0.29, 1.37]]
    x += [[0.87, 0.06, 0.71], [1.36, 0.37, -1.09], [-0.07, -0.43, -1.59]]
    y = [[-2.05, 0.15, -1.05], [0.41, -0.8, 0.8], [0.89, 0.38, -1.2], [-2.04, 2.14, -0.05]]
    y += [[2.05, -0.24, -1.18], [0.0, -1.23, 0.05], [1.65, 0.9, 3.1]]
    src_ids = [f"fr-{i:06d}" for i in range(6)]
    tgt_ids = [f"en-{i:06d}" for i in range(7)]
    gold = [(src_ids[i], tgt_ids[j]) for i, j in [(0, 5), (1, 3), (4, 2), (5, 0)]]
    return {
        "src_ids": src_ids,
        "src_texts": [f"phrase {i}" for i in range(6)],
        "tgt_ids": tgt_ids,
        "tgt_texts": [f"sentence {i}" for i in range(7)],
        "gold": gold,
        "x": np.array(x, dtype=np.float32),
        "y": np.array(y, dtype=np.float32),
    }
