"""Helpers for the grid, resume and Ray tests: fixture tasks in a tmp dir and a shared cache.

Fixture tasks are small classification tasks written as TSV files with absolute paths, registered
through ``$XSTILTS_TASKS``; together with the shipped ``demo-nli`` and ``demo-sentiment`` they make
a 3 intermediate x 3 target grid that runs on the real offline encoder in seconds.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
XSTILTS = str(ROOT / ".venv" / "bin" / "xstilts")

_SUBJECTS = ["The cat", "A teacher", "My neighbour", "The old man", "A child", "The doctor"]
_VERBS = ["reads", "paints", "cooks", "repairs", "sells", "buys"]
_OBJECTS = ["a book", "the fence", "some soup", "a bicycle", "fresh bread", "a small boat"]


def _sentence(rng: random.Random) -> tuple[str, int, int]:
    s, v, o = rng.randrange(6), rng.randrange(6), rng.randrange(6)
    return f"{_SUBJECTS[s]} {_VERBS[v]} {_OBJECTS[o]}.", s, v


def write_fixture_tasks(root: Path) -> Path:
    """Write three fixture tasks (two intermediate, one target) and return the task dir."""
    data, tasks = root / "data", root / "tasks"
    data.mkdir(parents=True, exist_ok=True)
    tasks.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)

    def tsv(path: Path, header: str, rows: list[str]) -> None:
        path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    # fx-pair (intermediate): do two sentences share their subject?
    for split, n in (("train", 48), ("dev", 16)):
        rows = []
        for _ in range(n):
            a, sa, _va = _sentence(rng)
            b, sb, _vb = _sentence(rng)
            rows.append(f"{a}\t{b}\t{'same' if sa == sb else 'different'}")
        tsv(data / f"pair-{split}.tsv", "a\tb\tlabel", rows)
    # fx-verb (intermediate): which verb class (even/odd index)?
    for split, n in (("train", 48), ("dev", 16)):
        rows = []
        for _ in range(n):
            a, _s, v = _sentence(rng)
            rows.append(f"{a}\t{'even' if v % 2 == 0 else 'odd'}")
        tsv(data / f"verb-{split}.tsv", "text\tlabel", rows)
    # fx-topic (target, en + de): is the subject a person? (test sets in two "languages")
    for name, n in (("train-en", 48), ("dev-en", 16), ("test-en", 16), ("test-de", 16)):
        rows = []
        for _ in range(n):
            a, s, _v = _sentence(rng)
            if name.endswith("de"):
                a = a.replace("The", "Der").replace("A ", "Ein ")
            rows.append(f"{a}\t{'animal' if s == 0 else 'person'}")
        tsv(data / f"topic-{name}.tsv", "text\tlabel", rows)

    def task(name: str, role: str, langs: list[str], labels: list[str], fields: list[str], splits):
        return {
            "name": name,
            "family": "classification",
            "role": [role],
            "languages": langs,
            "labels": labels,
            "text_fields": fields,
            "splits": splits,
        }

    pair_map = {"column_map": {"text_a": "a", "text_b": "b", "label": "label"}}
    one_map = {"column_map": {"text_a": "text", "label": "label"}}

    def src(path: Path, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return {"format": "tsv_header", "path": str(path), "params": params, **kw}

    specs = [
        task(
            "fx-pair",
            "intermediate",
            ["en"],
            ["same", "different"],
            ["text_a", "text_b"],
            {s: [src(data / f"pair-{s}.tsv", pair_map)] for s in ("train", "dev")},
        ),
        task(
            "fx-verb",
            "intermediate",
            ["en"],
            ["even", "odd"],
            ["text_a"],
            {s: [src(data / f"verb-{s}.tsv", one_map)] for s in ("train", "dev")},
        ),
        task(
            "fx-topic",
            "target",
            ["en", "de"],
            ["animal", "person"],
            ["text_a"],
            {
                "train": [src(data / "topic-train-en.tsv", one_map, language="en")],
                "dev": [src(data / "topic-dev-en.tsv", one_map, language="en")],
                "test": [src(Path(str(data / "topic-test-{lang}.tsv")), one_map)],
            },
        ),
    ]
    for spec in specs:
        (tasks / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tasks


def shared_cache(root: Path, encoder_dir: Path) -> Path:
    """A fresh ``$XSTILTS_CACHE`` whose ``models`` links to the converted encoder (no reconversion).

    Features are tokenised afresh into it, so no cache hit from another test hides a bug.
    """
    cache = root / "cache"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    link = cache / "models" / encoder_dir.name
    if not link.exists():
        link.symlink_to(encoder_dir, target_is_directory=True)
    return cache


def grid_config(
    *,
    intermediate: list[str],
    targets: list[str],
    seeds: list[int],
    name: str = "grid",
    baseline: bool = False,
    inter_phase: dict[str, Any] | None = None,
    target_phase: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A tiny grid on the offline encoder: frozen embeddings, max_length 32, a few steps."""
    tiny = {
        "learning_rate": 5e-4,
        "max_steps": 2,
        "batch_size": 4,
        "max_length": 32,
        "freeze_embeddings": True,
        "max_examples": 16,
        "warmup": 0.0,
    }
    return {
        "name": name,
        "model": "offline",
        "intermediate": intermediate,
        "baseline": baseline,
        "targets": targets,
        "seeds": seeds,
        "phases": {
            "intermediate": {**tiny, "select_best": False, **(inter_phase or {})},
            "target": {**tiny, "select_best": False, **(target_phase or {})},
        },
        "evaluation": {
            "languages": ["en", "de"],
            "max_examples": 8,
            "save_predictions": False,
            **(evaluation or {}),
        },
    }


def env_for(cache: Path, tasks_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "XSTILTS_CACHE": str(cache),
            "XSTILTS_TASKS": str(tasks_dir),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
    )
    return env


def comparable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Result rows without timing fields (``extra.seconds``), for exact comparisons."""
    out = []
    for r in rows:
        r = dict(r)
        r["extra"] = {k: v for k, v in (r.get("extra") or {}).items() if k != "seconds"}
        out.append(r)
    return out
