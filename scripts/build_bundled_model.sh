#!/usr/bin/env bash
# Rebuild the bundled model from the committed recipe and decisions file (see MODEL_CARD.md).
#
#   recipes/bundled.toml            sources, weights, trust, teacher, student, distillation, gates
#   recipes/bundled.decisions.csv   reviewed cleaning verdicts (made by: cloudatlas data decide)
#
# One verb builds the model (teacher -> student -> gates); then every evaluation part of the
# recipe is measured and recorded in the file, the CCSN test split last (measured, never chosen on).
# DEVICE=cuda builds on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
CA=.venv/bin/cloudatlas
OUT=${OUT:-runs/bundled}
DEVICE=${DEVICE:-auto}
start=$(date +%s)
step() { echo "== $1 ($(( ($(date +%s) - start) / 60 )) min so far)" >&2; }

step "teacher, distilled student and gates (recipes/bundled.toml)"
$CA train --recipe recipes/bundled.toml --out "$OUT" --device "$DEVICE"
step "every evaluation part of the recipe, recorded in the model file"
$CA evaluate --model "$OUT/model.onnx" --recipe recipes/bundled.toml --record
for part in external holdout test; do
    $CA evaluate --model "$OUT/model.onnx" --recipe recipes/bundled.toml --part "$part" --out "$OUT/eval-$part" >/dev/null
done
cp "$OUT/model.onnx" src/cloudatlas/assets/cloudatlas.onnx
step "done: src/cloudatlas/assets/cloudatlas.onnx"
echo "build time: $(( ($(date +%s) - start) / 60 )) min" >&2
