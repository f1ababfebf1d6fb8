#!/usr/bin/env bash
# One backbone for the iPhone 11 ANE (6 ms) and GPU (20 ms) against each unit's own optimum.
# Same space, strategy (NSGA-II), seed, budget and estimator (proxy) in all three searches; then the
# comparison report prices every pick on every unit of the phone. Run from the repository root.
set -euo pipefail
OUT=${OUT:-experiments/multi_device/runs}
SEED=${SEED:-0}
NAS="python -m nas"
common="--space fbnet --strategy nsga2 --budget small --seed $SEED --no-export --no-baselines"
mkdir -p "$OUT"
$NAS search $common --device iphone11 --unit ane,gpu --target-ms 6,20 --storage "sqlite:///$OUT/studies.db" \
  --study-name multi --out "$OUT/multi"
$NAS search $common --device iphone11 --unit ane --target-ms 6 --storage "sqlite:///$OUT/studies.db" \
  --study-name ane_only --out "$OUT/ane_only"
$NAS search $common --device iphone11 --unit gpu --target-ms 20 --storage "sqlite:///$OUT/studies.db" \
  --study-name gpu_only --out "$OUT/gpu_only"
$NAS report --device iphone11 --unit ane --search-dir "$OUT/multi" --search-dir "$OUT/ane_only" \
  --search-dir "$OUT/gpu_only" --model fbnet_a --model fbnet_b --model fbnet_c --out "$OUT/report"
