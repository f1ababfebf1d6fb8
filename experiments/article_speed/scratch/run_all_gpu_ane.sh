#!/bin/sh
# Every GPU / ANE variant of the session after the CPU one, in the order tried (figures: results/gpu_ane/*.json,
# run_all_gpu_ane.log), then the one CPU variant it ran (per-element work, cpu_harness.py) and the bootstraps.
cd "$(dirname "$0")/../../.." || exit 1
PY=${PY:-/work/main/.venv/bin/python}
S=experiments/article_speed/scratch
H="nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD $PY $S/gpu_ane_harness.py"
$H base
V_ANE_ACTFUSE=1 $H ane_actfuse1
V_ANE_ACTFUSE=all $H ane_actfuse_all
V_GPU_GEMV=se $H gpu_gemv_se
V_GPU_GEMV=all $H gpu_gemv_all
$H gpu_occ1 gpu:occ1
$H ane_actm ane:actm
V_ANE_DEV=bw $H ane_dev_bw
V_ANE_DEV=bw,eltwise $H ane_dev_bw_el
V_ANE_DEV=launch $H ane_dev_launch
V_ANE_PLANAR=4 $H ane_planar4
V_ANE_PLANAR=2 $H ane_planar2
V_ANE_PLANAR=1000 $H ane_planar_max
V_GPU_GEMV=se $H gpu_occ1_se gpu:occ1
V_ANE_ACTFUSE=1 V_ANE_PLANAR=1000 $H ane_actfuse1_planar_max
V_FUSE=F1 $H ane_fuse_F1     # after merging main: its ANE fusion ids (atoms.FUSIONS, today's regime) in the 2020 regime
V_FUSE=F2 $H ane_fuse_F2
V_FUSE=F3 $H ane_fuse_F3
nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD $PY $S/cpu_harness.py cpu_elc wbw elc
ELC_REPLACE=1 nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD $PY $S/cpu_harness.py cpu_elc_replace wbw elc
$PY $S/bootstrap.py > $S/bootstrap.log
for u in gpu ane; do $PY $S/bootstrap.py $u > $S/bootstrap_$u.log; done
