"""A hand-made output directory: evaluate steps with saved predictions and their result rows.

xnli (parallel), baseline and one intermediate task, 3 seeds, clean and one perturbation, en plus
two non-English languages whose row i is the same source row. Correctness is drawn per (model,
seed, condition, language, row) with a per-row difficulty shared by the languages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LANGS = ("en", "de", "fr")
SEEDS = (1, 2, 3)
ROWS = 120


def make_run(out: Path, task: str = "xnli", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1.0, ROWS)
    for inter, lift in (("none", 0.0), ("pawsx", 0.3)):
        for s in SEEDS:
            offset = rng.normal(0, 0.15)
            for pert, cost in (("none", 0.0), ("char_swap@0.1", 0.4)):
                key = f"evaluate-{inter}-{s}-{pert.replace('@', '_')}"
                pdir = out / "steps" / key / "predictions"
                pdir.mkdir(parents=True, exist_ok=True)
                rows = []
                for lang in LANGS:
                    z = lift + offset - cost + difficulty + rng.normal(0, 0.5, ROWS)
                    ok = z + rng.normal(0, 1, ROWS) > 0
                    preds = [
                        {"id": f"dev-{lang}-{i}", "prediction": "a" if o else "b", "gold": "a"}
                        for i, o in enumerate(ok)
                    ]
                    (pdir / f"{lang}.jsonl").write_text(
                        "".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8"
                    )
                    rows.append(_row(inter, s, task, lang, pert, float(ok.mean()), key))
                others = [r["value"] for r in rows if r["language"] != "en"]
                avg = _row(inter, s, task, "avg", pert, float(np.mean(others)), key)
                avg["extra"] = {"languages": ["de", "fr"]}
                rows.append(avg)
                (out / "results").mkdir(parents=True, exist_ok=True)
                (out / "results" / f"{key}.json").write_text(json.dumps(rows), encoding="utf-8")
    return out


def _row(inter: str, seed: int, task: str, lang: str, pert: str, value: float, key: str) -> dict:
    return {
        "run_id": f"r{seed}",
        "config_hash": "h",
        "model": "m",
        "intermediate": inter,
        "target": task,
        "seed": seed,
        "task": task,
        "language": lang,
        "split": "dev",
        "perturbation": pert,
        "metric": "accuracy",
        "value": value,
        "step": key,
        "extra": {"n": ROWS, "input_digest": f"{pert}-{lang}"},
    }
