#!/usr/bin/env bash
# Trains the bundled default model, models/default.model.json, from the
# project's own normal-traffic telemetry (data/telemetry.csv, see data/README.md).
#
# Parameters (fixed, so the model is reproducible byte for byte):
#   --trees 100 --sample-size 256   scikit-learn's defaults
#   --seed 42                       the trainer's default seed
#   --contamination 0.01            the threshold flags 1% of the (normal) training
#                                   rows: a target false-positive rate of 1%
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx trainer/main.ts \
  --data data/telemetry.csv \
  --out models/default.model.json \
  --trees 100 --sample-size 256 --seed 42 --contamination 0.01 \
  "$@"
