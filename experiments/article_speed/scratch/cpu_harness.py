"""Scratch harness (cost model 1.6 session): refits only the CPU, exactly as ``nas tables calibrate`` does
(``fit.fit_unit`` on the CPU rows, joint over the three phones, from the prior centre), for one variant:
LOMO per model / phone, median and MALE per phone and overall, subsets (a) / (b), sweep shape and small-out
(as ``subsets.py``). Variants are switched by ``priors.UNIT_PARAMS['cpu']`` (``variants.py`` prices a term
when its parameter is in theta) and the flags CHAIN_FUSE, CPU_P, ZERO_COPY, SRC_LAUNCH, LAUNCH1_US
(environment). Usage: python experiments/article_speed/scratch/cpu_harness.py NAME [PARAM ...] (run_all.sh runs all)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

from nas.latency.costmodel import fit, priors  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402
from subsets import FIRST_PASS, SMALL_MACS, net_stats, sweep_rows  # noqa: E402

RULE = ("espnet_v2_2_0", "mixnet_m", "mobilenet_v1", "mobilenet_v2", "shufflenet_v2_1_5")


SRC_LAUNCH = os.environ.get("SRC_LAUNCH")   # prior width of the public zoo's own launch shift (scratch variant)


def cpu_fit(ds, keep):
    mask = keep & np.array([r.unit == "cpu" for r in ds.rows])
    if SRC_LAUNCH:
        grp = [None if r.article else r.source for r in ds.rows]
        return fit.fit_unit(ds, mask, PHONES, "cpu", floor_groups=(grp, {g: float(SRC_LAUNCH) for g in set(grp) if g}),
                            shift_params=("launch",))
    return fit.fit_unit(ds, mask, PHONES, "cpu")


def pred(ds, f, idx):
    from nas.latency.costmodel.model import net_ms
    out = []
    for i in idx:
        th = dict(f[ds.rows[i].phone].theta)
        if SRC_LAUNCH and not ds.rows[i].article:
            th["launch"] += f[ds.rows[i].phone].floor_shift.get(ds.rows[i].source, 0.0)
        out.append(net_ms(ds.batch, "cpu", th)[ds.net_index[i]])
    return np.array(out)


def main(name, params):
    priors.UNIT_PARAMS = dict(priors.UNIT_PARAMS, cpu=tuple(params))
    import variants
    variants.install()
    import clock_variants   # hypothesis H (V_CLOCK; no-op unless set)
    clock_variants.install()
    t0 = time.time()
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows)
    macs, _ = net_stats(ds)
    fam = np.array([r.family for r in ds.rows])
    cv, full_theta = [], None
    full = cpu_fit(ds, np.ones(len(rows), bool))
    full_theta = {p: priors_nat(full[p].theta) for p in PHONES}
    shape = None
    for f in sorted({r.family for r in rows if r.article}):
        fits = cpu_fit(ds, fam != f)
        test = [i for i, r in enumerate(rows) if r.article and r.family == f and r.unit == "cpu"]
        for i, p in zip(test, pred(ds, fits, test)):
            cv.append({"model": rows[i].model, "phone": rows[i].phone, "lr": float(np.log(p / rows[i].ms))})
        if f == "mobilenet_v2":
            idx = np.flatnonzero(sweep_rows(ds, "cpu"))
            lr = np.log(pred(ds, fits, idx)) - np.log([rows[i].ms for i in idx])
            shape = float(np.mean(abs(lr - lr.mean()))) * 100
    small = sweep_rows(ds, "cpu") & (macs[ds.net_index] <= SMALL_MACS)
    ns = cpu_fit(ds, ~small)
    idx = np.flatnonzero(small)
    off = ns["iphone11"].offsets.get(rows[idx[0]].source, 0.0)
    lr = np.log(pred(ds, ns, idx)) + off - np.log([rows[i].ms for i in idx])
    so = (float(np.mean(lr)) * 100, float(np.mean(abs(lr))) * 100)

    def stat(sel):
        lr = np.array([r["lr"] for r in sel])
        return round(float(np.median(abs(np.exp(lr) - 1))) * 100, 1), round(float(np.mean(abs(lr))) * 100, 1), len(lr)
    res = {"name": name, "params": params, "all": stat(cv),
           "phones": {p: stat([r for r in cv if r["phone"] == p]) for p in PHONES},
           "a": stat([r for r in cv if r["model"] in RULE]), "b": stat([r for r in cv if r["model"] in FIRST_PASS]),
           "shape": round(shape, 1), "small_out": (round(so[0], 1), round(so[1], 1)),
           "per_model": {m: {r["phone"]: round((np.exp(r["lr"]) - 1) * 100) for r in cv if r["model"] == m}
                         for m in sorted({r["model"] for r in cv})},
           "full_theta": full_theta["iphone11"], "shift": full["iphone11"].floor_shift, "secs": round(time.time() - t0)}
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"{name}: all {res['all']} phones {res['phones']} a {res['a']} b {res['b']} shape {res['shape']} "
          f"small-out {res['small_out']} ({res['secs']} s)")
    for m, v in res["per_model"].items():
        print(f"  {m}: {v}", flush=True)
    print("  theta(iphone11):", {k: f"{v:.3g}" for k, v in res["full_theta"].items()}, res["shift"])


def priors_nat(th):
    return {k: float(np.exp(v)) for k, v in th.items()}


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main(sys.argv[1], sys.argv[2:])
