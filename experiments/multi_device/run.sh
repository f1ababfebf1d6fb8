#!/usr/bin/env bash
# One backbone for the iPhone 11 ANE and GPU against each unit's own optimum, at two ANE targets
# (6 ms and 5 ms; GPU 20 ms). Same space, strategy (NSGA-II), seed, budget and estimator (proxy) in
# every search; then the comparison report prices every pick on every unit of the phone, and
# compare.py writes results.md and picks.png. Run from the repository root.
set -euo pipefail
OUT=${OUT:-experiments/multi_device/runs}
SEED=${SEED:-0}
NAS="python -m nas"
common="--space fbnet --strategy nsga2 --budget small --seed $SEED --no-export --no-baselines"
db="sqlite:///$OUT/studies.db"
mkdir -p "$OUT"
$NAS search $common --device iphone11 --unit ane,gpu --target-ms 6,20 --storage "$db" --study-name multi --out "$OUT/multi"
$NAS search $common --device iphone11 --unit ane --target-ms 6 --storage "$db" --study-name ane_only --out "$OUT/ane_only"
$NAS search $common --device iphone11 --unit gpu --target-ms 20 --storage "$db" --study-name gpu_only --out "$OUT/gpu_only"
$NAS search $common --device iphone11 --unit ane,gpu --target-ms 5,20 --storage "$db" --study-name multi_5_20 \
  --out "$OUT/multi_5_20"
$NAS search $common --device iphone11 --unit ane --target-ms 5 --storage "$db" --study-name ane_only_5 --out "$OUT/ane_only_5"
$NAS report --device iphone11 --unit ane --search-dir "$OUT/multi" --search-dir "$OUT/ane_only" \
  --search-dir "$OUT/gpu_only" --search-dir "$OUT/multi_5_20" --search-dir "$OUT/ane_only_5" \
  --model fbnet_a --model fbnet_b --model fbnet_c --out "$OUT/report"
python experiments/multi_device/compare.py "$OUT"
