"""The offline demo's experiment: small, real, and done in minutes on 2 CPU cores.

Without a data directory it uses the toy data the project ships (English NLI as intermediate
task, 3-class review sentiment in 9 languages as target). With ``--data-dir ../shared/data`` it runs
the real thing at small scale: PAWS-X English as intermediate task, XNLI as target (trained on a
slice of the labelled English test rows, evaluated zero-shot on the dev sets of 6 languages).
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
"""


def demo_config(data_dir: str | None) -> tuple[ExperimentConfig, str]:
    text = SHARED if data_dir else SHIPPED
    return parse_config(yaml.safe_load(text), where="demo config"), text
