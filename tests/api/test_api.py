"""The Python API: ``xstilts.run`` with a dict config (here a sweep), ``results`` as a DataFrame
with the swept value as a column, ``report`` with the sweep table and scaling plot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from apikit import tiny_phase

import xstilts
from xstilts.errors import ConfigError

PATH = "phases.intermediate.max_examples"


def _config(model: Path) -> dict:
    return {
        "name": "api",
        "model": str(model),
        "intermediate": ["demo-nli"],
        "baseline": True,
        "targets": ["demo-sentiment"],
        "seeds": [1],
        "phases": {"intermediate": tiny_phase(), "target": tiny_phase()},
        "evaluation": {"languages": ["en", "de"], "max_examples": 8},
        "sweep": {PATH: [4, 8, 16]},
    }


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("api") / "run"
    summary = xstilts.run(_config(tiny_model), out=out, report=False)  # the test below reports
    return out, summary


def test_run_with_a_dict_config_and_results_as_a_dataframe(sweep_run, tiny_model):
    out, summary = sweep_run
    p = xstilts.plan(_config(tiny_model))
    assert len(summary.ran) == len(p.steps) == 3 + 4 + 4  # 3 intermediate, 4 target, 4 evals
    df = xstilts.results(out)
    assert PATH in df.columns and {"model", "intermediate", "value", "kind"} <= set(df.columns)
    clean = df[(df.metric == "accuracy") & (df.language == "de") & (df.perturbation == "none")]
    # one demo-nli score per swept value; the baseline (not swept) shown for every value
    nli = clean[clean.intermediate == "demo-nli"]
    assert sorted(nli[PATH]) == [4, 8, 16] and nli.step.nunique() == 3
    base = clean[clean.intermediate == "none"]
    assert sorted(base[PATH]) == [4, 8, 16] and base.step.nunique() == 1
    # a second run does nothing and the config file round-trips
    again = xstilts.run(out / "config.yaml", out=out, report=False)
    assert again.ran == [] and len(again.cached) == len(p.steps)


def test_report_shows_the_swept_value_as_a_column_and_a_scaling_plot(sweep_run):
    out, _ = sweep_run
    paths = xstilts.report(out)
    md = paths["report.md"].read_text()
    assert "## Sweep" in md and "| max_examples |" in md.replace("  ", " ")
    assert "plots/sweep_max_examples.png" in paths
    cells = [line.split(",") for line in paths["tables/sweep.csv"].read_text().splitlines()]
    shown = sorted((c[1], c[3]) for c in cells if c[2] == "max_examples")
    assert [v for _, v in shown] == ["16", "4", "8"] * 2  # baseline and demo-nli per value
    # each point is scoped like a model: its own main table with its own baseline
    assert "[max_examples=16]" in md


def test_config_forms_and_errors(tmp_path, tiny_model):
    from xstilts.experiments.config import parse_config

    cfg = parse_config(_config(tiny_model))
    keys = set(xstilts.plan(_config(tiny_model)).steps)
    assert set(xstilts.plan(cfg).steps) == keys
    assert set(xstilts.plan({**_config(tiny_model), "model": tiny_model}).steps) == keys  # a Path
    with pytest.raises(ConfigError, match="config file not found"):
        xstilts.plan(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="no results here"):
        xstilts.results(tmp_path)


def test_import_is_cheap():
    code = (
        "import sys, xstilts; "
        "print(sorted(m for m in ('torch', 'pandas', 'transformers') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_export_in_a_sweep_names_the_swept_value_of_each_candidate(sweep_run, tmp_path):
    out, _ = sweep_run
    with pytest.raises(ConfigError, match="matches several checkpoints") as exc:
        xstilts.export(out, tmp_path / "m", intermediate="demo-nli", target="none")
    msg = str(exc.value)
    assert all(f"[max_examples={v}]" in msg for v in (4, 8, 16))


def test_cli_results_show_the_swept_column(sweep_run):
    import json

    from typer.testing import CliRunner

    from xstilts.cli.main import app

    out, _ = sweep_run
    res = CliRunner().invoke(app, ["results", str(out), "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.output)
    assert {r[PATH] for r in rows if r["intermediate"] == "demo-nli"} == {4, 8, 16}
