"""The XTREME / XTREME-R scores as their leaderboards show them: task scores, then the benchmark score.

Task scores and the benchmark score come from ``evaluation.aggregate`` (XTREME's ``evaluate.py``
rule: a task's score is the mean over its benchmark languages with English included, QA
``(EM + F1) / 2``; the benchmark score is the mean of the task scores). A benchmark score is shown
only when every task of the benchmark has a score, as ``evaluate.py`` prints ``all_task`` only
then; otherwise the cell is empty and a note says which tasks are missing. Seeds are averaged per
task score.
"""

from __future__ import annotations

import math

import pandas as pd

from xstilts.evaluation.aggregate import benchmark_score, task_scores
from xstilts.report.table import Cell, Row, Table
from xstilts.tasks.registry import all_groups

NOTES = {
    "xtreme": "Benchmark score: the mean of the nine task scores (XTREME's evaluate.py, all_task).",
    "xtreme-r": (
        "Benchmark score: the mean of the ten task scores. XTREME's evaluate.py prints no XTREME-R "
        "overall (its xtreme-r mode needs LAReQA, which it cannot score); the overall follows "
        "Ruder et al. (2021) and the XTREME-R leaderboard, with evaluate.py's all_task rule."
    ),
}


def _cell(value: float) -> Cell:
    if math.isnan(value):
        return Cell()
    return Cell(text=f"{100 * value:.1f}", rank=100 * value, mean=100 * value, n=1)


def leaderboard_tables(df: pd.DataFrame) -> list[Table]:
    """One table per benchmark that has any task score: a row per (model, intermediate set-up)."""
    out: list[Table] = []
    if df.empty:
        return out
    for group, g in sorted(all_groups().items()):
        ts = task_scores(df, group)
        if ts.empty:
            continue
        by = ts.groupby(["model", "intermediate", "task"])["score"].mean()
        many_models = ts["model"].nunique() > 1
        title = group.upper() if group == "xtreme" else "XTREME-R"
        table = Table(
            name=f"leaderboard_{group}",
            title=f"{title}: task scores (English included) and the benchmark score",
            corner="model · intermediate" if many_models else "intermediate",
            columns=[*g.tasks, f"{title} score"],
            notes=[NOTES.get(group, NOTES["xtreme"])],
        )
        for (model, inter), part in by.groupby(level=[0, 1]):
            scores = {t: float(v) for (_, _, t), v in part.items()}
            mine = ts[(ts["model"] == model) & (ts["intermediate"] == inter)]
            short = sorted(
                {
                    f"{t} lacks {', '.join(m)}"
                    for t, m in zip(mine["task"], mine["missing"], strict=True)
                    if m
                }
            )
            missing = [t for t in g.tasks if t not in scores]
            cells = [_cell(scores.get(t, math.nan)) for t in g.tasks]
            # evaluate.py needs every language file of every task for all_task
            complete = not missing and not short
            cells.append(_cell(benchmark_score(scores, g.tasks) if complete else math.nan))
            label = f"{model} · {inter}" if many_models else str(inter)
            table.rows.append(Row(label, cells))
            if not complete:
                what = [f"missing {', '.join(missing)}"] if missing else []
                table.notes.append(f"{label}: no benchmark score ({'; '.join(what + short)}).")
        table.mark_best()
        out.append(table)
    return out
