"""The offline demo's experiment: small, real, and done in minutes on 2 CPU cores.

It asks the toolkit's three questions at once: does the intermediate task help zero-shot
transfer (Δ vs. the baseline), how robust is each model to noisy input (a fixed perturbation of
every test language, and a small adaptive attack), and what did the intermediate task do to the
cross-lingual space (alignment per layer, before and after it).

Without a data directory it uses the toy data the project ships (English NLI as intermediate
task, 3-class review sentiment in 9 languages as target; the parallel sentiment test files are
the alignment probe's input). With ``--data-dir ../shared/data`` it runs the real thing at small
scale: PAWS-X English as intermediate task, XNLI as target (trained on a slice of the labelled
English test rows, evaluated zero-shot on the dev sets of 6 languages), XNLI dev for alignment.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from xstilts.experiments.config import ExperimentConfig, parse_config
from xstilts.report.table import Cell, Row, Table

SHIPPED = """\
name: demo
# The offline multilingual encoder (multilingual-e5-small built from PyPI packages).
model: offline
intermediate: [demo-nli]
baseline: true
target: demo-sentiment
seeds: [1, 2]
phases:
  intermediate: {learning_rate: 5.0e-5, epochs: 2, batch_size: 16, max_length: 64,
                 freeze_embeddings: true, select_best: false}
  target: {learning_rate: 5.0e-5, epochs: 3, batch_size: 16, max_length: 64,
           freeze_embeddings: true}
evaluation: {split: test}
# Robustness: every test language with letters swapped in 20% of words, and a greedy word-level
# attack (at most 40 queries per review) on the first 6 reviews of every test language.
perturbations:
  - {name: char_swap, params: {rate: 0.2}}
attacks:
  - {name: greedy, params: {query_budget: 40, candidates_per_word: 3}, max_examples: 6}
# Alignment per layer of the pretrained encoder and of the intermediate checkpoint, on the
# parallel sentiment test rows (English vs. each language).
alignment: {inputs: [demo], checkpoints: [pretrained, intermediate], metrics: [retrieval, cka],
            max_sentences: 50}
"""

SHARED = """\
name: demo-shared
model: offline
intermediate: [pawsx]
baseline: true
target: xnli
seeds: [1]
phases:
  intermediate: {learning_rate: 5.0e-5, epochs: 1, batch_size: 16, max_length: 96,
                 freeze_embeddings: true, select_best: false, train_split: dev, max_examples: 800}
  target: {learning_rate: 5.0e-5, epochs: 1, batch_size: 16, max_length: 96,
           freeze_embeddings: true, train_split: test, max_examples: 1500, dev_split: null}
evaluation: {split: dev, languages: [en, de, ru, zh, hi, ar, sw], max_examples: 300}
perturbations:
  - {name: char_swap, params: {rate: 0.2}}
attacks:
  - {name: greedy, params: {query_budget: 60, candidates_per_word: 3, fields: [text_b]},
     languages: [de, ru, hi], max_examples: 30}
alignment: {inputs: [xnli], languages: [de, ru, zh, hi, ar, sw], checkpoints: [pretrained,
            intermediate], metrics: [retrieval, cka], max_sentences: 200}
"""


def demo_config(data_dir: str | None) -> tuple[ExperimentConfig, str]:
    text = SHARED if data_dir else SHIPPED
    return parse_config(yaml.safe_load(text), where="demo config"), text


def summary_tables(out_dir: str | Path) -> list[Table]:
    """The demo's answers as the report builds them, for the console: the transfer Δ table, the
    robustness table (clean, perturbed and attacked scores), and alignment per layer."""
    import pandas as pd

    from xstilts.experiments.sweep import sweep_frame
    from xstilts.report import data as D
    from xstilts.report.tables import (
        alignment_curves,
        attack_table,
        paper_table,
        robustness_table,
    )
    from xstilts.tasks.registry import all_tasks

    df = sweep_frame(out_dir)
    main_metric = {t.name: t.main_metric for t in all_tasks().values()}
    out = [paper_table(df, main_metric)]
    d = D.prepare(df)
    rows = D.task_rows(d)
    for target in D.resolve_main_metrics(rows, main_metric):
        kinds = rows.loc[rows["task"] == target, "kind"]
        if kinds.isin(["perturbed", "attack"]).any():
            out.append(robustness_table(df, target, main_metric))
        if (kinds == "attack").any():
            out.append(attack_table(df, target))
    curves = alignment_curves(df)
    for metric, g in curves.groupby("metric", sort=True):
        cks = list(dict.fromkeys(g["checkpoint"]))
        sc, dec = D.scale_of(metric), D.decimals_of(metric)
        t = Table(
            f"alignment_layers_{metric}",
            f"Alignment per layer: {metric}" + (" ×100" if sc == 100 else ""),
            "layer",
            cks,
        )
        piv = g.pivot_table(index="layer", columns="checkpoint", values="mean")
        for layer, r in piv.iterrows():
            t.rows.append(
                Row(
                    str(layer),
                    [Cell(f"{sc * r[c]:.{dec}f}") if pd.notna(r.get(c)) else Cell() for c in cks],
                )
            )
        out.append(t)
    return [t for t in out if t.rows]
