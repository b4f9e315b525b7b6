"""Shared runs for the robustness acceptance tests: real offline encoder, real XNLI / PAN-X data.

Each run is one ``xstilts run`` (the CLI, in a subprocess) into a session temp dir with its own
``XSTILTS_CACHE`` (so the perturbed copies the pipeline made can be read back), started lazily by
the first test that needs it. ``sweep`` and ``scripts`` share an output dir: the scripts run
reuses the sweep's trained XNLI checkpoint (same content key) instead of training again.

Sizes keep CI near its budget: frozen embeddings, max_length 64, small training slices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

TRAIN = {
    "learning_rate": 1.0e-4,
    "epochs": 1,
    "batch_size": 16,
    "max_length": 64,
    "freeze_embeddings": True,
    "dev_split": None,
}

# every character-level perturbation of xstilts.perturb (homoglyph: cross-script by design)
CHAR_PERTURBATIONS = {
    "char_swap": {"rate": 0.3},
    "char_delete": {"rate": 0.3},
    "char_insert": {"rate": 0.3},
    "char_substitute": {"rate": 0.3},
    "keyboard": {"rate": 0.3},
    "homoglyph": {"rate": 0.3},
    "diacritics": {"rate": 1.0},
    "zero_width": {"rate": 0.3},
    "whitespace": {"rate": 0.3},
}
SWEEP_LANGS = ["de", "es", "fr", "hi", "ru"]
SWEEP_RATES = [0.1, 0.3, 0.5]
SWEEP_ROWS = 300
ATTACK_BUDGETS = [20, 60, 200]
ATTACK_LANGS = ["de", "hi"]
ATTACK_ROWS = 40
FOOTING_LANGS = ["ar", "de", "es", "fr", "hi", "ru"]
FOOTING_PERTURBED = ["de", "hi"]

XNLI_BASELINE = {  # the sweep's checkpoint, reused by the scripts run
    "name": "robust-sweep",
    "target": "xnli",
    "seeds": [1],
    "phases": {"target": {**TRAIN, "train_split": "test", "max_examples": 1000}},
}

CONFIGS = {
    # accuracy vs perturbation rate on 5 languages, attacks with growing query budgets
    "sweep": {
        **XNLI_BASELINE,
        "evaluation": {"split": "dev", "languages": SWEEP_LANGS, "max_examples": SWEEP_ROWS},
        "perturbations": [
            {"name": "char_substitute", "params": {"rate": r}, "seed": 0} for r in SWEEP_RATES
        ],
        "attacks": [
            {
                "name": "greedy",
                "params": {"query_budget": b, "candidates_per_word": 4, "fields": ["text_b"]},
                "languages": ATTACK_LANGS,
                "max_examples": ATTACK_ROWS,
            }
            for b in ATTACK_BUDGETS
        ],
    },
    # every character perturbation on XNLI in Arabic, German, Hindi, Thai and Chinese
    "scripts": {
        **XNLI_BASELINE,
        "name": "robust-scripts",
        "evaluation": {
            "split": "dev",
            "languages": ["ar", "de", "hi", "th", "zh"],
            "max_examples": 8,
        },
        "perturbations": [
            {"name": n, "params": p, "seed": 3, "label": f"script:{n}"}
            for n, p in CHAR_PERTURBATIONS.items()
        ],
    },
    # ... and on PAN-X for Tamil (not in XNLI), with the other scripts again (tokens perturbed)
    "scripts_ta": {
        "name": "robust-scripts-ta",
        "target": "panx",
        "seeds": [1],
        "phases": {"target": {**TRAIN, "max_examples": 64}},
        "evaluation": {
            "split": "dev",
            "languages": ["ta", "ar", "de", "hi", "zh"],
            "max_examples": 8,
        },
        "perturbations": [
            {"name": n, "params": p, "seed": 3, "label": f"script:{n}"}
            for n, p in CHAR_PERTURBATIONS.items()
        ],
    },
    # baseline vs an intermediate task, 2 seeds, clean vs synthetic vs real typos (same rows)
    "grid": {
        "name": "robust-grid",
        "target": "xnli-typos",
        "intermediate": ["demo-nli"],
        "seeds": [1, 2],
        "phases": {
            "intermediate": {**TRAIN, "max_examples": 96},
            "target": {**TRAIN, "train_split": "dev", "max_examples": 192},
        },
        "evaluation": {"split": "test", "languages": ["de", "hi"], "max_examples": 80},
        "perturbations": [
            {"name": "char_substitute", "params": {"rate": 0.3}, "seed": 0},
            {"name": "real_typos"},
        ],
    },
    # a perturbation limited to 2 of the 6 evaluated languages (the sweep's checkpoint)
    "footing": {
        **XNLI_BASELINE,
        "name": "robust-footing",
        "evaluation": {"split": "dev", "languages": FOOTING_LANGS, "max_examples": 80},
        "perturbations": [
            {
                "name": "char_substitute",
                "params": {"rate": 0.5},
                "seed": 0,
                "languages": FOOTING_PERTURBED,
            }
        ],
    },
}
OUT_OF = {
    "sweep": "xnli",
    "scripts": "xnli",
    "scripts_ta": "panx",
    "grid": "grid",
    "footing": "xnli",
}


@dataclass
class Run:
    out: Path
    cache: Path
    config: dict
    log: str

    def rows(self) -> list[dict]:
        from xstilts.experiments.results import ResultsStore

        # runs that share an output dir (to share a checkpoint) each read their own rows
        return [r for r in ResultsStore(self.out).rows() if r["run_id"] == self.config["name"]]

    def step_dir(self, key: str) -> Path:
        return self.out / "steps" / key

    def predictions(self, key: str, lang: str) -> list[dict]:
        path = self.step_dir(key) / "predictions" / f"{lang}.jsonl"
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def xstilts(*args: str, cache: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("xstilts")
    env = {**os.environ, "XSTILTS_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=1800)


class Runs:
    def __init__(self, root: Path, data: Path, encoder: Path) -> None:
        self.root, self.data, self.done = root, data, {}
        self.cache = root / "cache"
        (self.cache / "models").mkdir(parents=True, exist_ok=True)
        link = self.cache / "models" / encoder.name
        if not link.exists():
            link.symlink_to(encoder, target_is_directory=True)

    def get(self, name: str) -> Run:
        if name not in self.done:
            cfg = CONFIGS[name]
            path = self.root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
            out = self.root / OUT_OF[name]
            res = xstilts(
                "run", str(path), "--out", str(out), "--data-dir", str(self.data), cache=self.cache
            )
            assert res.returncode == 0, f"xstilts run {name} failed:\n{res.stdout}\n{res.stderr}"
            self.done[name] = Run(out, self.cache, cfg, res.stdout)
        return self.done[name]
