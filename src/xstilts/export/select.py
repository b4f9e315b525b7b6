"""Finding a trained checkpoint in an output directory by its labels or its step key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError
from xstilts.experiments.store import ArtifactStore


@dataclass(frozen=True)
class Candidate:
    """A finished training step and the labels results show for it."""

    key: str
    model: str
    intermediate: str  # the set-up label; ``none`` for the baseline
    target: str  # ``none`` for an intermediate checkpoint
    seed: int
    role: str  # intermediate | target
    sweep: str = ""  # the swept values it depends on (``max_examples=500``), for a sweep's steps

    def flags(self) -> str:
        point = f" [{self.sweep}]" if self.sweep else ""
        return (
            f"--model {self.model} --intermediate {self.intermediate} "
            f"--target {self.target} --seed {self.seed}{point} (--step {self.key})"
        )


def _metas(out_dir: Path) -> dict[str, dict[str, Any]]:
    root = Path(out_dir) / "steps"
    out = {}
    for done in sorted(root.glob("*/done.json")):
        try:
            out[done.parent.name] = json.loads(done.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return out


def candidates(out_dir: str | Path) -> list[Candidate]:
    """Every finished training step, labelled like its result rows (evaluations name the set-up)."""
    metas = _metas(Path(out_dir))
    setup_of: dict[str, str] = {}  # checkpoint key -> set-up label, from the steps that use it
    for m in metas.values():
        labels = (m.get("params") or {}).get("labels") or {}
        ck = (m.get("deps") or {}).get("checkpoint")
        if ck and "intermediate" in labels:
            setup_of.setdefault(ck, str(labels["intermediate"]))
    points = _sweep_labels(Path(out_dir))
    out = []
    for key, m in metas.items():
        if m.get("kind") != "train":
            continue
        p = m.get("params") or {}
        tasks = list(p.get("tasks") or [])
        role = p.get("role", "target")
        if role == "intermediate":
            inter, target = "+".join(tasks), "none"
        else:
            init = (m.get("deps") or {}).get("init")
            derived = "+".join((metas.get(init, {}).get("params") or {}).get("tasks") or [])
            inter = setup_of.get(key) or (derived if init else "none") or "none"
            target = tasks[0] if tasks else "none"
        model = str((p.get("model") or {}).get("name", ""))
        seed = int(p.get("seed", 0))
        out.append(Candidate(key, model, inter, target, seed, role, points.get(key, "")))
    return sorted(out, key=lambda c: (c.model, c.intermediate, c.target, c.seed, c.key))


def _sweep_labels(out_dir: Path) -> dict[str, str]:
    """Step key -> the swept values it depends on (steps every point shares get none)."""
    from xstilts.experiments.sweep import point_label, read_index, short_names

    index = read_index(out_dir)
    if not index:
        return {}
    names, pts = short_names(index["paths"]), index["points"]
    out = {}
    for key, idx in index["steps"].items():
        if len(idx) < len(pts):
            common = {
                p: pts[idx[0]][p] for p in index["paths"] if len({str(pts[i][p]) for i in idx}) == 1
            }
            out[key] = point_label(common, names)
    return out


def _model_matches(asked: str, name: str) -> bool:
    return asked == name or name.endswith(asked) or Path(name).name == asked


def select(
    out_dir: str | Path,
    *,
    step: str | None = None,
    model: str | None = None,
    intermediate: str | None = None,
    target: str | None = None,
    seed: int | None = None,
) -> Candidate:
    """The one checkpoint the labels (or the key) name; otherwise an error listing candidates."""
    out_dir = Path(out_dir)
    if not (out_dir / "steps").is_dir():
        raise ConfigError("not an xstilts output directory (no steps/)", where=str(out_dir))
    found = candidates(out_dir)
    if not found:
        raise ConfigError("no finished training step to export", where=str(out_dir))
    if step is not None:
        ArtifactStore(out_dir).path(step)  # a key that escapes the output dir is refused
        hits = [c for c in found if c.key == step]
    else:
        hits = [
            c
            for c in found
            if (model is None or _model_matches(model, c.model))
            and (intermediate is None or c.intermediate == intermediate)
            and (target is None or c.target == target)
            and (seed is None or c.seed == seed)
        ]
    if len(hits) == 1:
        return hits[0]
    shown = hits or found
    listing = "; ".join(c.flags() for c in shown[:12]) + (
        f"; and {len(shown) - 12} more" if len(shown) > 12 else ""
    )
    what = "matches several checkpoints" if hits else "matches no checkpoint"
    raise ConfigError(f"{what}; candidates: {listing}", where="export")
