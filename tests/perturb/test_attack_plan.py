"""``xstilts plan`` refuses attacks a target cannot run, in one line naming the config entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts.perturb.attack import attack_problem
from xstilts.tasks.registry import get_task

ROOT = Path(__file__).resolve().parents[2]


def _plan(cfg: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "xstilts.cli.main", "plan", str(cfg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _one_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode != 0, res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("target", "attack", "needles"),
    [
        ("stsb", {"name": "greedy"}, ["stsb", "no attack goal"]),
        ("xnli", {"name": "greedy", "params": {"fields": ["premise"]}}, ["premise"]),
        ("panx", {"name": "greedy", "params": {"fields": ["context"]}}, ["context"]),
        ("panx", {"name": "greedy", "params": {"goal": {"metric": "bleu"}}}, ["metric"]),
        # goals per family, as the studies write them: the tagging entry is checked on PAN-X
        ("panx", {"name": "greedy", "params": {"goal": {"tagging": {"metric": "x"}}}}, ["metric"]),
    ],
)
def test_plan_refuses_attacks_that_cannot_run(target, attack, needles):
    from xstilts.errors import ConfigError
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.plan import build_plan

    cfg = parse_config({"target": target, "attacks": [attack]})
    with pytest.raises(ConfigError) as exc:
        build_plan(cfg)
    assert exc.value.where == "attacks[0]"
    for n in needles:
        assert n in str(exc.value), (n, str(exc.value))


def test_plan_refusal_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("target: stsb\nattacks:\n  - {name: greedy}\n", encoding="utf-8")
    line = _one_line(_plan(cfg))
    assert line.startswith("error: attacks[0]:") and "stsb" in line, line


def test_every_family_target_of_the_studies_can_be_attacked():
    """The shipped studies attack PAN-X, UD-POS, XQuAD, MLQA, TyDiQA, XCOPA: each target's family
    declares a goal that accepts the configured attack (so the plan's attack steps can run)."""
    import yaml

    for name in ("robustness_after_stilts.yaml", "xtremer_noise_gap.yaml"):
        cfg = yaml.safe_load((ROOT / "studies" / name).read_text(encoding="utf-8"))
        for att in cfg["attacks"]:
            for t in cfg["targets"]:
                spec = get_task(t)
                problem = attack_problem({"search": att["name"], **att.get("params", {})}, spec)
                assert problem is None, (name, t, problem)
    assert attack_problem({}, get_task("stsb")) is not None  # the check can say no
