#!/usr/bin/env bash
# Rebuild the bundled model from the committed recipe and decisions file (see MODEL_CARD.md).
#
#   recipes/bundled.toml            sources, weights, trust, teacher, student, distillation
#   recipes/bundled.decisions.csv   reviewed cleaning verdicts (made by: cloudatlas data decide)
#
# About 75 min on 2 CPU cores (most of it caching the student's frozen views and its epochs); a
# few minutes on a GPU. The CCSN test split is only measured at the end, never used to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/data}
CA=.venv/bin/cloudatlas
OUT=${OUT:-runs/bundled}
start=$(date +%s)
step() { echo "== $1 ($(( ($(date +%s) - start) / 60 )) min so far)" >&2; }

step "teacher + distilled student"
$CA train --recipe recipes/bundled.toml --out "$OUT"
step "sky gate and clear-sky gate"
$CA gate --model "$OUT/model.onnx" --recipe recipes/bundled.toml \
         --clear-sky "$SHARED/extra/clear_sky" --not-cloud "$SHARED/not_cloud"
step "the recipe's held-out photos (30 % of curated, never trained on or cleaned)"
$CA evaluate --model "$OUT/model.onnx" --recipe recipes/bundled.toml --part holdout --record --out "$OUT/eval-holdout"
step "CCSN test split (measured only)"
$CA evaluate --model "$OUT/model.onnx" --data "$SHARED/ccsn" --split test --record --out "$OUT/eval-test"
cp "$OUT/model.onnx" src/cloudatlas/assets/cloudatlas.onnx
step "done: src/cloudatlas/assets/cloudatlas.onnx"
echo "build time: $(( ($(date +%s) - start) / 60 )) min" >&2
