#!/usr/bin/env bash
# Benchmark-only peers, installed into the project venv (never a project dependency).
#   bash benchmarks/setup_peers.sh        (or: make setup && bash benchmarks/setup_peers.sh)
# TextAttack 0.3.11: a normal `pip install textattack` backtracks and fails building an old
# scikit-learn, so it goes in with --no-deps and then its runtime imports one by one.
# Offline import needs three more things, made by benchmarks/ta_env.py at run time:
#   a `post_install_check_3` marker in $TA_CACHE_DIR (skips six nltk.download calls),
#   a stub `flair` module on PYTHONPATH (flair 0.15 needs transformers<5; char attacks never use it),
#   an NLTK stopwords corpus written from the PyPI `stop-words` package (not NLTK's own list).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PIP="$VENV/bin/pip install -q -c constraints.txt"
$PIP --no-deps textattack==0.3.11
$PIP nltk lru-dict more-itertools pandas scipy tqdm filelock terminaltables word2number \
  num2words pinyin jieba lemminflect language_tool_python editdistance Levenshtein langdetect \
  OpenHowNet bert_score boto3 deprecated segtok stop-words anytree toml rapidfuzz
# Ray for the scale-out benchmark (also `pip install 'xstilts[ray]'`).
$VENV/bin/python -c "import ray" 2>/dev/null || $PIP ray
$VENV/bin/python benchmarks/ta_env.py --check
