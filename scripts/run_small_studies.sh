#!/usr/bin/env bash
# Run the five small studies in the order that lets later ones adopt earlier checkpoints
# (content keys: a checkpoint trained for one study is reused, not retrained, by another).
# Usage: scripts/run_small_studies.sh [RUNS_DIR] [DATA_DIR]   (resumable: rerun to continue)
set -euo pipefail
RUNS=${1:-runs/studies}
DATA=${2:-${XSTILTS_DATA_DIR:-../shared/data}}
X="${XSTILTS_BIN:-xstilts}"
export HF_HUB_OFFLINE=1
run() { local name=$1 cfg=$2; shift 2
  echo "== $name: $cfg"; "$X" run "studies/$cfg" --out "$RUNS/$name" --data-dir "$DATA" "$@"; }
run q1 robustness_after_stilts.small.yaml
run q5 alignment_stability.small.yaml --reuse "$RUNS/q1"
run q3 reasoning_sentiment_robustness.small.yaml --reuse "$RUNS/q1"
run q2 xtremer_noise_gap.small.yaml --reuse "$RUNS/q1"
run q4 domain_transfer.small.yaml --reuse "$RUNS/q3"
