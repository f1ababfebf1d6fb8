"""Markdown table of the GPU / ANE variants (results/gpu_ane/*.json) for the README. Usage: table.py"""
import json
from pathlib import Path

R = Path(__file__).resolve().parent / "results" / "gpu_ane"
ORDER = ("base", "gpu_gemv_se", "gpu_gemv_all", "gpu_occ1", "gpu_occ1_se", "ane_actfuse1", "ane_actfuse_all", "ane_actm",
         "ane_dev_bw", "ane_dev_bw_el", "ane_dev_launch", "ane_planar4", "ane_planar2", "ane_planar_max",
         "ane_actfuse1_planar_max", "ane_fuse_F1", "ane_fuse_F2", "ane_fuse_F3")


def f(x):
    return f"{x[0]} / {x[1]}"


print("| variant | unit | all | per phone (medians) | (a) | (b) | shape | small-out | other unit (median / MALE) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for n in ORDER:
    d = json.loads((R / f"{n}.json").read_text())
    u = "ane" if n.startswith("ane") else "gpu"
    o = "gpu" if u == "ane" else "ane"
    r = d[u]
    print(f"| {n} | {u} | {f(r['all'])} | {' / '.join(str(v[0]) for v in r['phones'].values())} | {f(r['a'])} | "
          f"{f(r['b'])} | {r['shape']} | {r['small_out'][0]:+} / {r['small_out'][1]} | {o} {f(d[o]['all'])} |")
