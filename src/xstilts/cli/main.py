"""The ``xstilts`` command: thin typer commands over the library.

Every user error (``XstiltsError``) is printed as one line naming the file, line or field, with a
non-zero exit and no traceback; results already written stay on disk, so the same command resumes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from xstilts.errors import XstiltsError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="English intermediate-task training for multilingual encoders: zero-shot "
    "transfer, robustness and cross-lingual alignment.",
)
out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        envvar="XSTILTS_DATA_DIR",
        help="Data directory (XTREME layout or ../shared/data).",
    ),
]


@app.command()
def tasks(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    family: Annotated[str | None, typer.Option(help="Only this family.")] = None,
) -> None:
    """List every task with its family and languages."""
    from xstilts.tasks.registry import all_groups, all_tasks

    specs = [t for t in all_tasks().values() if family is None or t.family == family]
    if as_json:
        payload = {
            "tasks": [t.summary() for t in specs],
            "groups": {g.group: g.tasks for g in all_groups().values()},
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title="xstilts tasks")
    for col in ("task", "family", "role", "languages", "metric"):
        table.add_column(col)
    for t in sorted(specs, key=lambda t: (t.family, t.name)):
        langs = " ".join(t.languages) if len(t.languages) <= 12 else f"{len(t.languages)} languages"
        table.add_row(t.name, t.family, ",".join(t.role), langs, t.main_metric)
    out.print(table)


def _load(config: Path, data_dir: str | None):
    from xstilts.experiments.config import load_config
    from xstilts.experiments.plan import build_plan

    cfg = load_config(config)
    return cfg, build_plan(cfg, data_dir=data_dir)


@app.command()
def plan(
    config: Annotated[Path, typer.Argument(help="Experiment or grid YAML.")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also say which steps this run dir has done.")
    ] = None,
) -> None:
    """Print the plan of steps a config expands to, and its size, without running it."""
    from xstilts.experiments.store import ArtifactStore

    cfg, p = _load(config, data_dir)
    store = ArtifactStore(out_dir) if out_dir else None
    shared, consumers = p.shared(), p.consumers()
    summ = p.summary()
    if store is not None:
        summ["done"] = sum(store.done(k) for k in p.steps)
    from xstilts.experiments.estimate import describe, plan_size
    from xstilts.paths import data_root

    size = plan_size(p, data_root(data_dir or cfg.data_dir))
    if as_json:
        steps = []
        for s in p.steps.values():
            d = {"key": s.key, "kind": s.kind, "label": s.label, "deps": s.deps}
            d.update({"resources": s.resources, "pipelines": shared.get(s.key, 1)})
            d["consumers"] = len(consumers.get(s.key, []))
            if store is not None:
                d["done"] = store.done(s.key)
            steps.append(d)
        typer.echo(json.dumps({**summ, "size": size, "steps_list": steps}, indent=2))
        return
    for s in p.steps.values():
        mark = ""
        if store is not None:
            mark = "[green]done[/] " if store.done(s.key) else "[yellow]todo[/] "
        uses = f" [cyan](x{shared[s.key]})[/]" if s.key in shared else ""
        deps = " <- " + ", ".join(s.deps.values()) if s.deps else ""
        out.print(f"{mark}[bold]{s.key}[/] {escape(s.label)}{uses}[dim]{deps}[/]", soft_wrap=True)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(summ["by_kind"].items()))
    shared_kinds = ", ".join(f"{n} {k}" for k, n in sorted(summ["shared"].items())) or "none"
    out.print(
        f"\n{summ['steps']} steps ({kinds}); {summ['without_sharing']} without sharing. "
        f"Shared between pipelines, run once: {shared_kinds} (xN: pipelines using it).",
        soft_wrap=True,
    )
    out.print(escape(describe(size)), soft_wrap=True)
    if store is not None:
        out.print(f"{summ['done']} of {summ['steps']} steps already done in {out_dir}")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment or grid YAML.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (resumable).")] = Path(
        "runs/experiment"
    ),
    data_dir: DataDir = None,
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Join this Ray cluster.")] = None,
    ray_cpus: Annotated[
        int | None, typer.Option(help="CPUs of the local Ray instance (default: all).")
    ] = None,
    track: Annotated[
        str | None, typer.Option(help="Also log to mlflow | wandb (installed separately).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the report at the end.")] = True,
    reuse: Annotated[
        list[Path] | None,
        typer.Option(
            help="Other output dirs whose finished trainings with the same content key are "
            "reused (hard links); repeatable."
        ),
    ] = None,
) -> None:
    """Run what a config declares; rerun the same command to resume after any interruption."""
    cfg, p = _load(config, data_dir)
    if reuse:
        from xstilts.experiments.atomic import disk_errors
        from xstilts.experiments.executors import adopt_trained

        for d in reuse:
            if not (d / "steps").is_dir():
                raise XstiltsError(
                    f"{d} is not an xstilts output directory (no steps/)", where="--reuse"
                )
        with disk_errors(out_dir):
            got = adopt_trained(p, out_dir, list(reuse))
        if got:
            out.print(f"reused {len(got)} finished trainings from {', '.join(map(str, reuse))}")
    _execute(
        cfg,
        p,
        out_dir,
        executor,
        ray_address,
        config_text=config.read_text(encoding="utf-8"),
        track=track,
        ray_cpus=ray_cpus,
    )
    if report:
        _report(out_dir)


def _execute(
    cfg,
    p,
    out_dir: Path,
    executor: str,
    ray_address: str | None,
    config_text: str,
    track: str | None = None,
    ray_cpus: int | None = None,
    summary: bool = True,
) -> None:
    from xstilts.api import prepare_out
    from xstilts.experiments.executors import EXECUTORS
    from xstilts.experiments.results import ResultsStore
    from xstilts.experiments.tracking import make_tracker
    from xstilts.report.build import count_line

    tracker = make_tracker(track)  # fails before anything runs when the package is missing
    ex_cls = EXECUTORS.get(executor, where="--executor").obj
    if executor == "local":
        ex = ex_cls()
    else:
        ex = ex_cls({"address": ray_address, "num_cpus": ray_cpus})
    prepare_out(out_dir, p, config_text)  # config.yaml and, for a sweep, sweep.json
    summ = p.summary()
    out.print(f"[bold]{cfg.name}[/]: {summ['steps']} steps -> {out_dir}")
    if tracker is not None:
        tracker.start(cfg.name, {"config_hash": cfg.digest(), "executor": executor, **summ})
    status = "FAILED"
    try:
        with _progress() as factory:

            def on_step(step, what):
                if what == "cached":
                    out.print(f"  [dim]cached[/]  {escape(step.label)}")
                elif what == "start" and executor != "local":
                    out.print(f"  [dim]started[/] {escape(step.label)}")
                elif what == "done":
                    out.print(f"  [green]done[/]    {escape(step.label)}")
                    if tracker is not None:
                        tracker.log_step(step, out_dir)
                elif what == "failed":
                    out.print(f"  [red]failed[/]  {escape(step.label)}")

            result = ex.run(p, out_dir, progress=factory, on_step=on_step)
        status = "FINISHED"
    finally:
        if tracker is not None:
            tracker.finish(status)
    rows = ResultsStore(out_dir).frame()
    out.print(
        f"\n{len(result.ran)} steps ran, {len(result.cached)} reused from cache; "
        f"{count_line(rows)} in {out_dir / 'results'}"
    )
    if summary:
        _print_summary(rows)


def _print_summary(df) -> None:
    if df.empty:
        return
    from rich.table import Table

    from xstilts.report.data import ALIGNMENT_METRICS

    # XTREME's task scores average every language, English included (evaluate.py): so does this
    rows = df[~df.language.isin(["avg", "all"]) & (df.perturbation == "none")]
    rows = rows[~rows.step.astype(str).str.startswith("aggregate-")]
    rows = rows[~rows.metric.isin(ALIGNMENT_METRICS)]  # per-layer probes: their own report section
    if rows.empty:
        return
    table = Table(title="average over the languages evaluated, English included (as XTREME)")
    for c in ("task", "target", "intermediate", "split", "metric", "mean", "seeds"):
        table.add_column(c)
    keys = ["task", "target", "intermediate", "split", "metric"]
    per_seed = rows.groupby([*keys, "seed"])["value"].mean()
    for (task, t, i, sp, m), s in per_seed.groupby(level=keys):
        table.add_row(task, t, i, sp, m, f"{100 * s.mean():.1f}", str(len(s)))
    out.print(table)


class _progress:
    """Rich progress bars; yields a factory ``(description, total) -> update``."""

    def __enter__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=out,
            transient=True,
            disable=not sys.stdout.isatty() and os.environ.get("XSTILTS_PROGRESS") != "1",
        )
        self.p.__enter__()

        def factory(desc: str, total: int):
            tid = self.p.add_task(desc, total=total or None, info="")

            def update(i: int, n: int | None, loss: float | None):
                if n is not None:
                    self.p.update(
                        tid,
                        completed=i,
                        total=n,
                        info=f"loss {loss:.3f}" if loss is not None else "",
                    )
                else:
                    self.p.advance(tid, i)

            return update

        return factory

    def __exit__(self, *exc):
        return self.p.__exit__(*exc)


def _report(out_dir: Path, report_dir: Path | None = None, answer: Path | None = None) -> None:
    from xstilts.api import write_full_report

    # paired tests vs the baseline from the saved predictions, then the report
    paths = write_full_report(out_dir, report_dir, answer=answer)
    for name in ("report.md", "report.html"):
        if name in paths:
            out.print(f"  report: {paths[name]}")


@app.command()
def results(
    out_dir: Annotated[Path, typer.Argument(help="Output directory of a run.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print every result record of a run."""
    from xstilts.experiments.results import ResultsStore

    if not (out_dir / "results").is_dir():
        raise XstiltsError(
            "no results here (run `xstilts run CONFIG --out DIR` first)", where=str(out_dir)
        )
    from xstilts.experiments.sweep import read_index, sweep_frame

    rows = ResultsStore(out_dir).rows()
    swept = (read_index(out_dir) or {}).get("paths", [])
    if swept:  # a sweep: one column per swept path (rows shared by several values repeat)
        frame = sweep_frame(out_dir).astype(object)
        rows = frame.where(frame.notna(), None).to_dict("records")
    if as_json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False, default=str))
        return
    from rich.table import Table

    table = Table()
    cols = (
        "model",
        "intermediate",
        "target",
        *swept,
        "seed",
        "language",
        "split",
        "perturbation",
        "metric",
        "value",
    )
    for c in cols:
        table.add_column(c)
    for r in rows:
        table.add_row(
            *[f"{r[c]:.4f}" if c == "value" and r[c] is not None else str(r[c]) for c in cols]
        )
    out.print(table)


@app.command()
def report(
    out_dir: Annotated[Path, typer.Argument(help="Output directory of a run.")],
    to: Annotated[
        Path | None, typer.Option("--to", help="Report directory (default: DIR/report).")
    ] = None,
    answer: Annotated[
        Path | None,
        typer.Option(help="Markdown file with a study's written answer, placed after the summary."),
    ] = None,
) -> None:
    """Write the report (Markdown, HTML, CSV, LaTeX, plots) of a run."""
    if not (out_dir / "results").is_dir():
        raise XstiltsError(
            "no results here (run `xstilts run CONFIG --out DIR` first)", where=str(out_dir)
        )
    if answer is not None and not answer.is_file():
        raise XstiltsError("no such file", where=f"--answer {answer}")
    _report(out_dir, to, answer)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out")] = Path("runs/demo"),
    data_dir: DataDir = None,
) -> None:
    """Offline demo of the three questions: transfer Δ after an intermediate task, robustness
    (a perturbation and an attack) and alignment per layer; then the report."""
    from xstilts.experiments.demo import demo_config
    from xstilts.experiments.plan import build_plan
    from xstilts.report.console import demo_tables

    cfg, text = demo_config(data_dir)
    p = build_plan(cfg, data_dir=data_dir)
    _execute(cfg, p, out_dir, "local", None, config_text=text, summary=False)
    _report(out_dir)
    for t in demo_tables(out_dir):  # the report's own tables: console and report agree
        _print_report_table(t)
    from xstilts.experiments.sweep import sweep_frame
    from xstilts.report.build import count_line

    out.print(f"The report counts {count_line(sweep_frame(out_dir))}.")


def _print_report_table(t) -> None:
    """A report ``Table`` (``xstilts.report.table``) on the console, cells as the report shows them."""
    from rich.table import Table

    out.print(f"\n[bold]{escape(t.title)}[/]", soft_wrap=True)
    table = Table()
    table.add_column(t.corner)
    for c in t.columns:
        table.add_column(c, justify="right")
    for r in t.rows:
        table.add_row(
            r.label, *[c.text + c.mark for c in r.cells], end_section=r.kind == "baseline"
        )
    out.print(table)


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Output directory of a run.")],
    to: Annotated[Path, typer.Option("--to", help="Directory to write the model to.")],
    model: Annotated[str | None, typer.Option(help="Model label (as in results).")] = None,
    intermediate: Annotated[
        str | None, typer.Option(help="Intermediate set-up label; `none`: the baseline.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target task; `none`: the intermediate checkpoint.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed.")] = None,
    step: Annotated[str | None, typer.Option(help="Step key of the training (train-...).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --to.")] = False,
    push_to_hub: Annotated[
        str | None, typer.Option("--push-to-hub", help="Also upload to this hub repo (user/name).")
    ] = None,
    private: Annotated[bool, typer.Option(help="Create the hub repo private.")] = False,
) -> None:
    """Export a trained checkpoint as a transformers directory (weights, tokenizer, model card)."""
    from xstilts.export import push_to_hub as push
    from xstilts.export import select
    from xstilts.export.core import export_checkpoint

    select(out_dir, step=step, model=model, intermediate=intermediate, target=target, seed=seed)
    res = export_checkpoint(
        out_dir,
        to,
        step=step,
        model=model,
        intermediate=intermediate,
        target=target,
        seed=seed,
        overwrite=overwrite,
    )
    check = (
        f"; logits equal to xstilts' within {res.max_diff:.1e}" if res.max_diff is not None else ""
    )
    out.print(f"exported {res.key} as {res.auto_class} -> {res.path}{check}", soft_wrap=True)
    if res.note:
        out.print(f"[yellow]note:[/] {escape(res.note)}", soft_wrap=True)
    if push_to_hub:
        push(res.path, push_to_hub, private=private)
        out.print(f"pushed to {push_to_hub}")


@app.command()
def perturb(
    text: Annotated[str | None, typer.Argument(help="Text to perturb (or use --file).")] = None,
    name: Annotated[str, typer.Option("--name", "-p", help="Perturbation name.")] = "char_swap",
    lang: Annotated[
        str, typer.Option("--lang", "-l", help="Language of the text (ISO code).")
    ] = "en",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="key=value (YAML value), repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same copy.")] = 0,
    file: Annotated[Path | None, typer.Option("--file", help="One text per line.")] = None,
    list_all: Annotated[
        bool, typer.Option("--list", help="List perturbations and their parameters.")
    ] = False,
) -> None:
    """Show what a perturbation does to a text or a file, edits highlighted (for a person to look at)."""
    import yaml

    from xstilts.perturb import PERTURBATIONS, show_perturbation

    if list_all:
        for entry in PERTURBATIONS.items():
            fields = ", ".join(f"{k}={v.default!r}" for k, v in entry.config.model_fields.items())
            out.print(f"[bold]{entry.name}[/]  {entry.doc}\n    {fields}", highlight=False)
        return
    params = {}
    for item in param or []:
        if "=" not in item:
            raise XstiltsError(f"expected key=value, got {item!r}", where="--param")
        k, v = item.split("=", 1)
        params[k.strip()] = yaml.safe_load(v)
    PERTURBATIONS.get(name, where="--name")
    PERTURBATIONS.params(name, params, where="--param")
    if file is not None:
        try:
            texts = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise XstiltsError(f"cannot read: {exc}", where=str(file)) from None
    elif text is not None:
        texts = [text]
    else:
        raise XstiltsError("give a TEXT argument or --file", where="perturb")
    for t in texts:
        typer.echo(show_perturbation(t, lang, name, params, seed))


@app.command()
def version() -> None:
    """Versions of xstilts and its main libraries."""
    from xstilts.report.build import detect_versions

    typer.echo(json.dumps(detect_versions(), indent=2))


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        try:
            app(standalone_mode=False)
        except OSError as exc:  # a full disk, an unwritable --out: the user's to fix, not a bug
            from xstilts.experiments.atomic import disk_error

            clear = disk_error(exc, os.getcwd())
            if clear is None:
                raise
            raise clear from None
    except XstiltsError as exc:
        # escape: messages may hold brackets (pip install 'xstilts[ray]')
        err.print(f"[bold red]error:[/] {escape(exc.one_line())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: finished steps are kept; run the same command again to resume")
        sys.exit(130)
    except (typer.Abort, typer.Exit) as exc:
        sys.exit(getattr(exc, "exit_code", 1))
    except Exception as exc:
        # Usage errors (missing argument, bad option) come from typer's own copy of click, whose
        # exception classes are not click's: recognise them by shape rather than by class.
        if not (
            hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)
        ):
            raise
        err.print(
            f"[bold red]error:[/] {escape(exc.format_message())} (see `xstilts --help`)",
            highlight=False,
        )
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
