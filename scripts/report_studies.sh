#!/usr/bin/env bash
# Write each small study's report (HTML, Markdown, CSV/LaTeX tables, plots) into docs/studies/,
# with the written answer (docs/studies/<study>/ANSWER.md) placed after the summary.
# Usage: scripts/report_studies.sh [RUNS_DIR]
set -euo pipefail
RUNS=${1:-runs/studies}
X="${XSTILTS_BIN:-xstilts}"
for pair in q1:q1-robustness-after-stilts q2:q2-xtremer-noise-gap \
            q3:q3-reasoning-sentiment-robustness q4:q4-domain-transfer \
            q5:q5-alignment-stability; do
  run=${pair%%:*} name=${pair#*:}
  [ -d "$RUNS/$run/results" ] || { echo "skip $name: no results in $RUNS/$run"; continue; }
  dest=docs/studies/$name
  mkdir -p "$dest"
  args=(report "$RUNS/$run" --to "$dest")
  [ -f "$dest/ANSWER.md" ] && args+=(--answer "$dest/ANSWER.md")
  "$X" "${args[@]}"
done
