"""The model card (README.md) of an exported checkpoint: what was trained on what, and its scores.

Everything comes from the output directory: the step metadata (phases, data fingerprints, seed),
the steps that consumed the checkpoint (their result rows are the scores) and ``config.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from xstilts.export.select import Candidate

PIPELINE_TAGS = {
    "AutoModelForSequenceClassification": "text-classification",
    "AutoModelForTokenClassification": "token-classification",
    "AutoModelForQuestionAnswering": "question-answering",
    "AutoModel": "feature-extraction",
}


def _meta(out_dir: Path, key: str) -> dict[str, Any]:
    return json.loads((out_dir / "steps" / key / "done.json").read_text(encoding="utf-8"))


def phase_chain(out_dir: Path, key: str) -> list[dict[str, Any]]:
    """The trainings that made a checkpoint, first to last (intermediate, then target)."""
    chain = []
    while key:
        m = _meta(out_dir, key)
        chain.append({"key": key, **m})
        key = (m.get("deps") or {}).get("init")
    return chain[::-1]


def score_rows(out_dir: Path, key: str) -> list[dict[str, Any]]:
    """Result rows of every finished step that consumed checkpoint ``key``."""
    rows = []
    for done in sorted((out_dir / "steps").glob("*/done.json")):
        try:
            m = json.loads(done.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if key not in (m.get("deps") or {}).values():
            continue
        f = out_dir / "results" / f"{done.parent.name}.json"
        if f.is_file():
            rows.extend(json.loads(f.read_text(encoding="utf-8")))
    return rows


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def model_card(
    out_dir: Path,
    cand: Candidate,
    *,
    auto_class: str,
    note: str | None,
    languages: list[str],
    base_model: str,
    base_is_hub: bool,
) -> str:
    chain = phase_chain(out_dir, cand.key)
    rows = score_rows(out_dir, cand.key)
    front: dict[str, Any] = {
        "library_name": "transformers",
        "tags": ["xstilts", "cross-lingual", "zero-shot-transfer"],
        "pipeline_tag": PIPELINE_TAGS.get(auto_class, "feature-extraction"),
    }
    if languages:
        front["language"] = languages
    if base_is_hub:
        front["base_model"] = base_model
    title = f"{cand.model}: {cand.intermediate} → {cand.target} (seed {cand.seed})"
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    lines += [f"# {title}", ""]
    lines += [
        f"Exported by xstilts from step `{cand.key}` of `{out_dir.name}`. Base encoder: "
        f"`{base_model}`. Load it with `transformers.{auto_class}.from_pretrained(<this dir>)`.",
        "",
    ]
    if note:
        lines += [f"**Head not in a transformers class:** {note}", ""]
    lines += ["## Training phases", ""]
    for i, m in enumerate(chain, 1):
        p = m.get("params") or {}
        phase = p.get("phase") or {}
        lines += [
            f"### {i}. {p.get('role', 'train')}: {', '.join(p.get('tasks') or [])}",
            "",
            f"- step: `{m['key']}`; seed {p.get('seed')}; {m.get('seconds', 0):.0f} s",
            "- data: " + "; ".join(f"`{d}`" for d in p.get("data") or []),
            "- hyperparameters: "
            + ", ".join(f"{k}={v}" for k, v in sorted(phase.items()) if v is not None),
            "",
        ]
    lines += ["## Scores", ""]
    if rows:
        lines += [
            "Zero-shot scores of this checkpoint as stored in the run's results "
            "(`xstilts results`); `avg` averages the non-English languages.",
            "",
            "| task | language | split | perturbation | metric | value |",
            "|:---|:---|:---|:---|:---|---:|",
        ]
        for r in sorted(
            rows,
            key=lambda r: (r["task"], r["perturbation"], r["metric"], r["language"] != "avg"),
        ):
            lines.append(
                f"| {r['task']} | {r['language']} | {r['split']} | {r['perturbation']} | "
                f"{r['metric']} | {_fmt(r['value'])} |"
            )
        lines.append("")
    else:
        lines += ["No evaluation of this checkpoint is in the results store.", ""]
    cfg = out_dir / "config.yaml"
    if cfg.is_file():
        lines += ["## Configuration", "", "```yaml", cfg.read_text(encoding="utf-8").rstrip()]
        lines += ["```", ""]
    return "\n".join(lines)
