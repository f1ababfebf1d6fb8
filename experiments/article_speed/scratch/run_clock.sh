#!/bin/sh
# Hypothesis H (clock scaling; README.md "Clock scaling"): the 2020 regime's runs (results/gpu_ane/clock_*.json,
# results/clock_cpu.json; run_clock.log).
cd "$(dirname "$0")/../../.." || exit 1
PY=${PY:-/work/main/.venv/bin/python}
S=experiments/article_speed/scratch
E="nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=$PWD"
$E $PY $S/gpu_ane_harness.py base
V_CLOCK=1 V_CLOCK_UNITS=cpu $E $PY $S/cpu_harness.py clock_cpu wbw
V_CLOCK=1 V_CLOCK_UNITS=gpu,ane $E $PY $S/gpu_ane_harness.py clock_gpu_ane
V_CLOCK=1 V_CLOCK_UNITS=ane $E $PY $S/gpu_ane_harness.py clock_ane
V_CLOCK=1 V_CLOCK_UNITS=cpu,gpu,ane V_CPU_CACHE=cpu_folds_clock.json $E $PY $S/gpu_ane_harness.py clock_all
# H' (one fitted exponent per unit on the ratio)
V_CLOCK_FIT=1 V_CLOCK_UNITS=cpu $E $PY $S/cpu_harness.py clockfit_cpu wbw
V_CLOCK_FIT=1 V_CLOCK_UNITS=gpu,ane $E $PY $S/gpu_ane_harness.py clockfit_gpu_ane
# the CPU's H alone, seen from the ANE (its off-ANE blocks priced by the CPU fits; CPU rule 5)
V_CLOCK=1 V_CLOCK_UNITS=cpu V_CPU_CACHE=cpu_folds_clock.json $E $PY $S/gpu_ane_harness.py clock_cpu_only
