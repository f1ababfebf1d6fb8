#!/bin/sh
# Every CPU variant of the cost model 1.6 session, in the order tried (figures: results/*.json, run_all.log).
cd "$(dirname "$0")/../../.." || exit 1
PY=${PY:-/work/main/.venv/bin/python}
H="nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD $PY experiments/article_speed/scratch/cpu_harness.py"
$H base wbw
$H launch_el wbw launch_el
$H launch_dw wbw launch_dw
$H thr wbw thr
$H dwk wbw dwk
SRC_LAUNCH=1.0 $H srclaunch wbw
CHAIN_FUSE=1 $H chain wbw
CPU_P=1 $H p1 wbw
CPU_P=1.5 $H p1.5 wbw
CPU_P=2 $H p2 wbw
$H pnorm wbw pnorm
$H launch1 wbw launch1
LAUNCH1_US=20 $H launch1_p20 wbw launch1
$H launch1_dwk wbw launch1 dwk
$H launch_el_dwk wbw launch_el dwk
ZERO_COPY=1 $H zerocopy wbw
$H launch_el_dw wbw launch_el launch_dw
