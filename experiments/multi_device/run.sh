#!/usr/bin/env bash
# One backbone for the iPhone 11 ANE and GPU against each unit's own optimum, at two ANE targets
# (the space's median and 25th-percentile ANE latency; GPU at its median), chosen by targets.py from the
# 2020-regime tables before any search. Same space, strategy (NSGA-II), seed, budget and estimator (the
# default, fmap_depth_task) in every search; then the comparison report prices every pick on every unit of
# the phone, and compare.py writes results.md and picks_*.png. Run from the repository root.
set -euo pipefail
OUT=${OUT:-experiments/multi_device/runs}
SEED=${SEED:-0}
RUNTIME=${RUNTIME:-coreml-neuralnetwork-ios13}
PY=${PY:-python}
NAS="$PY -m nas"
eval "$($PY experiments/multi_device/targets.py "$RUNTIME")"   # sets ANE_MED, ANE_P25, GPU_MED
echo "targets: ANE median $ANE_MED ms, ANE 25th percentile $ANE_P25 ms, GPU median $GPU_MED ms"
common="--space fbnet --strategy nsga2 --budget small --seed $SEED --accuracy fmap_depth_task --runtime $RUNTIME
        --no-export --no-baselines"
db="sqlite:///$OUT/studies.db"
mkdir -p "$OUT"
$NAS search $common --device iphone11 --unit ane,gpu --target-ms "$ANE_MED,$GPU_MED" --storage "$db" --study-name multi \
  --out "$OUT/multi"
$NAS search $common --device iphone11 --unit ane --target-ms "$ANE_MED" --storage "$db" --study-name ane_only --out "$OUT/ane_only"
$NAS search $common --device iphone11 --unit gpu --target-ms "$GPU_MED" --storage "$db" --study-name gpu_only --out "$OUT/gpu_only"
$NAS search $common --device iphone11 --unit ane,gpu --target-ms "$ANE_P25,$GPU_MED" --storage "$db" --study-name multi_p25 \
  --out "$OUT/multi_p25"
$NAS search $common --device iphone11 --unit ane --target-ms "$ANE_P25" --storage "$db" --study-name ane_only_p25 \
  --out "$OUT/ane_only_p25"
$NAS report --device iphone11 --unit ane --runtime "$RUNTIME" --search-dir "$OUT/multi" --search-dir "$OUT/ane_only" \
  --search-dir "$OUT/gpu_only" --search-dir "$OUT/multi_p25" --search-dir "$OUT/ane_only_p25" \
  --model fbnet_a --model fbnet_b --model fbnet_c --out "$OUT/report"
$PY experiments/multi_device/compare.py "$OUT" "$RUNTIME"
