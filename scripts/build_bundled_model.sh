#!/usr/bin/env bash
# Rebuild the bundled model exactly as shipped (see MODEL_CARD.md). About 1 h on 2 CPU cores.
# The three members share their frozen blocks (and the cached views of them); the gate is fitted
# on CCSN train + not-cloud photos; the test split is only measured, never used to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/ccsn}
NOT_CLOUD=${NOT_CLOUD:-../shared/data/not_cloud}
CA=.venv/bin/cloudatlas
RECIPE=(--data "$DATA" --split train --img-size 320 --freeze-to 4 --cache-views 8)

$CA train "${RECIPE[@]}" --epochs 14 --seed 0 --out runs/bundled-seed0
for seed in 1 2; do
  $CA train "${RECIPE[@]}" --epochs 8 --weight-decay 0.05 --seed $seed --out runs/bundled-seed$seed
done
$CA export --ensemble runs/bundled-seed0 runs/bundled-seed1 runs/bundled-seed2 --flip-tta --fp16-weights \
  --out runs/bundled.onnx
$CA gate --model runs/bundled.onnx --data "$DATA" --not-cloud "$NOT_CLOUD" --markdown
$CA evaluate --model runs/bundled.onnx --data "$DATA" --split test --record --out runs/bundled-eval
cp runs/bundled.onnx src/cloudatlas/assets/cloudatlas.onnx
