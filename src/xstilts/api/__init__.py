"""The Python API behind ``import xstilts``: plan, run, results, report, export.

A config is a YAML path, a mapping (as the YAML would read) or an ``ExperimentConfig``; the same
validation applies to each, and errors are ``xstilts.errors.XstiltsError`` naming the field. Runs
write the same output directory as ``xstilts run`` (resumable, content-keyed), so the CLI and a
notebook can continue each other's work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xstilts.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from xstilts.experiments.config import ExperimentConfig
    from xstilts.experiments.executors import RunSummary
    from xstilts.experiments.plan import Plan
    from xstilts.export.core import ExportResult


def load(config: str | Path | Mapping[str, Any] | ExperimentConfig) -> tuple[ExperimentConfig, str]:
    """(validated config, its YAML text as written to ``<out>/config.yaml``)."""
    import yaml

    from xstilts.experiments.config import ExperimentConfig, load_config, parse_config

    if isinstance(config, ExperimentConfig):
        data = config.model_dump(mode="json", exclude_defaults=True)
        return config, yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if isinstance(config, Mapping):
        # a deep copy as plain data (paths become strings), as the YAML file would hold it
        data = json.loads(json.dumps(dict(config), default=str))
        return parse_config(data), yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if isinstance(config, str | Path):
        return load_config(config), Path(config).read_text(encoding="utf-8")
    raise ConfigError(
        f"a config is a YAML path, a mapping or an ExperimentConfig, not {type(config).__name__}",
        where="config",
    )


def plan(config, *, data_dir: str | None = None) -> Plan:
    """The steps a config expands to (deduplicated by content key), without running anything."""
    from xstilts.experiments.plan import build_plan

    cfg, _ = load(config)
    return build_plan(cfg, data_dir=data_dir)


def prepare_out(out: str | Path, p: Plan, config_text: str) -> Path:
    """Write what a run directory records before its steps run: the config and a sweep index."""
    from xstilts.experiments.atomic import write_text
    from xstilts.experiments.sweep import write_index

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "config.yaml", config_text)
    write_index(p, out)
    return out


def run(
    config,
    out: str | Path,
    *,
    data_dir: str | None = None,
    report: bool = True,
) -> RunSummary:
    """Run the steps of ``config`` that ``out`` has not finished (in process), then the report.

    Rerunning resumes; finished steps are reused by content key.
    """
    from xstilts.experiments.executors import LocalExecutor
    from xstilts.experiments.plan import build_plan

    cfg, text = load(config)
    p = build_plan(cfg, data_dir=data_dir)
    out = prepare_out(out, p, text)
    summary = LocalExecutor().run(p, out)
    if report:
        write_full_report(out)
    return summary


def results(out: str | Path) -> pd.DataFrame:
    """Every result row of a run as a DataFrame (swept values as columns for a sweep)."""
    from xstilts.experiments.sweep import sweep_frame

    out = Path(out)
    if not (out / "results").is_dir():
        raise ConfigError("no results here (run a config into it first)", where=str(out))
    return sweep_frame(out)


def write_full_report(
    out: str | Path, to: str | Path | None = None, answer: str | Path | None = None
) -> dict[str, Path]:
    """Paired comparisons against the baseline, then the report (Markdown, HTML, CSV, plots)."""
    from xstilts.evaluation.robustness import write_comparisons
    from xstilts.report.build import write_report
    from xstilts.tasks.registry import all_tasks

    main_metric = {t.name: t.main_metric for t in all_tasks().values()}
    write_comparisons(out)
    return write_report(out, to, main_metric=main_metric, answer=answer)


def report(out: str | Path, to: str | Path | None = None) -> dict[str, Path]:
    """Write the report of a run (default ``<out>/report``); returns ``{name: path}``."""
    out = Path(out)
    if not (out / "results").is_dir():
        raise ConfigError("no results here (run a config into it first)", where=str(out))
    return write_full_report(out, to)


def export(
    out: str | Path,
    to: str | Path,
    *,
    step: str | None = None,
    model: str | None = None,
    intermediate: str | None = None,
    target: str | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    push_to_hub: str | None = None,
    private: bool = False,
) -> ExportResult:
    """A trained checkpoint of ``out`` as a transformers directory (see ``xstilts export``)."""
    from xstilts.export import export_checkpoint
    from xstilts.export import push_to_hub as push

    res = export_checkpoint(
        out,
        to,
        step=step,
        model=model,
        intermediate=intermediate,
        target=target,
        seed=seed,
        overwrite=overwrite,
    )
    if push_to_hub:
        push(res.path, push_to_hub, private=private)
    return res
