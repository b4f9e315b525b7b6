"""A step's data fingerprint covers every file its reader opens (real files, edited copies)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from xstilts.experiments.config import parse_config
from xstilts.experiments.plan import build_plan


def _copy(shared: Path, root: Path, rel: str) -> Path:
    dst = root / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / rel, dst)
    return dst


def _keys(cfg: dict, data: Path) -> dict[str, str]:
    """Step label -> key."""
    plan = build_plan(parse_config(cfg), data_dir=str(data))
    return {s.label: s.key for s in plan.steps.values()}


def _edit(path: Path) -> None:
    """Change one byte, keeping the size: only the mtime and content tell."""
    data = bytearray(path.read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


RETRIEVE = {
    "retrieval": {
        "tasks": ["tatoeba", "bucc2018"],
        "languages": {"tatoeba": ["de"], "bucc2018": ["zh"]},
        "checkpoints": ["pretrained"],
    }
}


def test_editing_the_english_side_or_the_gold_changes_the_retrieve_key(tmp_path, shared_data):
    for rel in (
        "tatoeba/tatoeba.deu-eng.deu",
        "tatoeba/tatoeba.deu-eng.eng",
        "bucc2018/zh-en.dev.zh",
        "bucc2018/zh-en.dev.en",
        "bucc2018/zh-en.dev.gold",
    ):
        _copy(shared_data, tmp_path, rel)
    before = _keys(RETRIEVE, tmp_path)
    tatoeba = next(k for k in before if "tatoeba" in k)
    bucc = next(k for k in before if "bucc2018" in k)
    assert _keys(RETRIEVE, tmp_path) == before  # nothing edited: same keys

    _edit(tmp_path / "tatoeba/tatoeba.deu-eng.eng")  # the file the source path does not name
    after = _keys(RETRIEVE, tmp_path)
    assert after[tatoeba] != before[tatoeba] and after[bucc] == before[bucc]

    _edit(tmp_path / "bucc2018/zh-en.dev.gold")
    again = _keys(RETRIEVE, tmp_path)
    assert again[bucc] != after[bucc] and again[tatoeba] == after[tatoeba]


def test_editing_a_labels_file_changes_the_evaluate_key(tmp_path, shared_data):
    """UMSAB reads ``*_text.txt`` and its ``*_labels.txt`` twin: both key the evaluate step."""
    for lang in ("english", "german"):
        for part in ("train", "val", "test"):
            for kind in ("text", "labels"):
                _copy(shared_data, tmp_path, f"xlmt_umsab_sentiment/{lang}/{part}_{kind}.txt")
    cfg = {"target": "umsab", "evaluation": {"languages": ["de"]}}
    before = _keys(cfg, tmp_path)
    evaluate = next(k for k in before if k.startswith("evaluate"))
    train = next(k for k in before if k.startswith("target"))
    _edit(tmp_path / "xlmt_umsab_sentiment/german/test_labels.txt")
    after = _keys(cfg, tmp_path)
    assert after[evaluate] != before[evaluate]
    assert after[train] == before[train]  # English training data untouched
