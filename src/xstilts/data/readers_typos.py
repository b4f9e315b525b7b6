"""Real-noise twins: Stickland et al. (2023) XNLI test rows with real typos, paired with the clean rows.

The noisy files (``stickland2023_typos/xnli/test_<lang>_typos_<ratio>.tsv``: a header, then
``'premise'<TAB>'hypothesis'<TAB>label`` with the texts wrapped in single quotes and labels
0/1/2 = entailment/neutral/contradiction) hold a subset of the XNLI test rows of each language,
in the order of the clean file, each with word-level typos from Wikipedia edit histories. They
carry no row ids, so every noisy row is aligned to its clean twin in ``xnli/test-<lang>.tsv``:
a monotone scan (the rows keep the clean order) that picks, within a window after the previous
twin, the clean row with the most similar premise and hypothesis (``difflib`` ratio) and the same
label. Pairs below ``min_similarity`` (or with another label) are dropped and counted.

Both sides get the clean file's ids (``test-<lang>-<row>``, as the ``tsv`` reader names them), so
``side: clean`` and ``side: noisy`` are the same rows, one as written and one with real typos; the
``real_typos`` perturbation swaps the noisy side in by id. The alignment is cached by the two
files' fingerprints.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xstilts.data.readers import READERS, Example, _fail, read_lines

XNLI_LABELS = ("entailment", "neutral", "contradiction")
_NAME = re.compile(r"^test_(?P<lang>[a-z]{2,3})_typos_[0-9.]+$")


class SticklandXnliParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    side: Literal["clean", "noisy"] = "clean"
    # the clean XNLI files, relative to the noisy file's folder (or absolute)
    clean_dir: str = "../../xnli"
    min_similarity: float = Field(0.5, ge=0.0, le=1.0)
    window: int = Field(400, ge=1)  # clean rows looked at after the previous twin


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] == "'" else s


def _fp(path: Path) -> str:
    st = path.stat()
    return f"{os.fspath(path.resolve())}:{st.st_size}:{st.st_mtime_ns}"


def _read_noisy(path: Path) -> list[tuple[str, str, str]]:
    lines = read_lines(path)
    if not lines or lines[0].split("\t") != ["premise", "hypothesis", "label"]:
        _fail(path, 1, "expected the header premise<TAB>hypothesis<TAB>label")
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) != 3:
            _fail(path, i, f"expected 3 tab-separated fields, found {len(f)}")
        if f[2].strip() not in ("0", "1", "2"):
            _fail(path, i, f"label {f[2]!r} is not 0, 1 or 2")
        rows.append((_unquote(f[0]), _unquote(f[1]), XNLI_LABELS[int(f[2])]))
    return rows


def _read_clean(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for i, line in enumerate(read_lines(path), start=1):
        f = line.split("\t")
        if len(f) != 3:
            _fail(path, i, f"expected 3 tab-separated fields, found {len(f)}")
        rows.append((f[0], f[1], f[2].strip()))
    return rows


def _similarity(a: tuple[str, str, str], b: tuple[str, str, str], floor: float) -> float:
    """Mean of the premise and hypothesis ratios (quick upper bounds first: most rows fail them)."""
    sp, sh = difflib.SequenceMatcher(None, a[0], b[0]), difflib.SequenceMatcher(None, a[1], b[1])
    if (sp.real_quick_ratio() + sh.real_quick_ratio()) / 2 < floor:
        return 0.0
    if (sp.quick_ratio() + sh.quick_ratio()) / 2 < floor:
        return 0.0
    return (sp.ratio() + sh.ratio()) / 2


def align_twins(
    noisy: list[tuple[str, str, str]],
    clean: list[tuple[str, str, str]],
    *,
    min_similarity: float = 0.5,
    window: int = 400,
) -> list[tuple[int, int, float]]:
    """``(noisy row, clean row, similarity)`` for every noisy row with a twin, in order."""
    out: list[tuple[int, int, float]] = []
    last = -1
    for j, row in enumerate(noisy):
        best, best_i = min_similarity, -1
        for i in range(last + 1, min(len(clean), last + 1 + window)):
            if clean[i][2] != row[2]:
                continue
            s = _similarity(clean[i], row, best)
            if s > best:
                best, best_i = s, i
                if s >= 0.97:  # a twin with a typo or two: nothing later can be much closer
                    break
        if best_i >= 0:
            out.append((j, best_i, best))
            last = best_i
    return out


def twins(path: Path, cfg: SticklandXnliParams) -> tuple[str, list[tuple[int, int, float]], list]:
    """(language, alignment, [noisy rows, clean rows]) for one noisy file (alignment cached)."""
    m = _NAME.match(path.stem)
    if not m:
        _fail(path, None, "expected a file named test_<lang>_typos_<ratio>.tsv")
    lang = m.group("lang")
    cdir = Path(cfg.clean_dir)
    clean_path = (cdir if cdir.is_absolute() else path.parent / cdir) / f"test-{lang}.tsv"
    if not clean_path.exists():
        _fail(path, None, f"clean twin file {clean_path} not found")
    noisy, clean = _read_noisy(path), _read_clean(clean_path)
    from xstilts.data.sources import content_key
    from xstilts.paths import cache_root

    key = content_key(
        "stickland-xnli-v1", _fp(path), _fp(clean_path), cfg.min_similarity, cfg.window
    )
    cached = cache_root() / "real_typos" / f"{key}.json"
    if cached.exists():
        pairs = [tuple(p) for p in json.loads(cached.read_text(encoding="utf-8"))]
    else:
        pairs = align_twins(noisy, clean, min_similarity=cfg.min_similarity, window=cfg.window)
        from xstilts.atomic import write_json

        write_json(cached, [list(p) for p in pairs])
    return lang, pairs, [noisy, clean]  # type: ignore[return-value]


@READERS.register("stickland_xnli", config=SticklandXnliParams)
def read_stickland_xnli(path: Path, cfg: SticklandXnliParams) -> list[Example]:
    """The clean or the noisy side of the XNLI rows that have a real-typo twin (same ids)."""
    lang, pairs, (noisy, clean) = twins(path, cfg)
    out: list[Example] = []
    for j, i, _ in pairs:
        p, h, label = (noisy[j] if cfg.side == "noisy" else clean[i])[:3]
        out.append({"id": f"test-{lang}-{i}", "text_a": p, "text_b": h, "label": clean[i][2]})
    if not out:
        _fail(path, None, "no row could be paired with its clean twin")
    return out
