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

import yaml

from xstilts.experiments.config import ExperimentConfig, parse_config

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
# parallel sentiment test rows (English vs. each language; the demo-sentiment task as input set).
alignment: {inputs: [demo-sentiment], checkpoints: [pretrained, intermediate], metrics: [retrieval, cka],
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
