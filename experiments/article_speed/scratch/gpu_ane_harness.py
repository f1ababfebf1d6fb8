"""Scratch harness (issue #15 item 4, GPU / ANE session): refits the GPU and the ANE exactly as ``nas tables
calibrate`` does -- ``fit.fit_all``'s order: CPU, GPU (joint over the three phones, from the prior centre), then
the ANE on each fold's own CPU / GPU fits for its off-ANE blocks -- for one variant, and scores LOMO per model /
phone, median and MALE per phone and unit, subsets (a) / (b), sweep shape and small-out (as ``subsets.py``).
The CPU fits do not depend on a GPU / ANE variant, so they are computed once per fold and cached in
``results/gpu_ane/cpu_folds.json`` (delete it after changing the CPU). Variants: ``gpu_ane_variants.py`` (patches over
``model.atom_ms`` / ``model.block_ms`` / ``priors.prior_for``), switched by the parameters named on the command
line (added to ``priors.UNIT_PARAMS``: ``gpu:NAME`` or ``ane:NAME``) and environment flags documented there;
``V_FUSE=F1|F2|F3`` puts main's ANE fusion ids (``atoms.FUSIONS``, made for today's regime) into the 2020 regime's
``drop`` tuple.
Usage: python experiments/article_speed/scratch/gpu_ane_harness.py NAME [unit:PARAM ...]
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
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from nas.latency.costmodel import fit, priors  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402
from subsets import FIRST_PASS, SMALL_MACS, net_stats, sweep_rows  # noqa: E402

RULE = ("espnet_v2_2_0", "mixnet_m", "mobilenet_v1", "mobilenet_v2", "shufflenet_v2_1_5")
OUT = HERE / "results" / "gpu_ane"
CACHE = OUT / os.environ.get("V_CPU_CACHE", "cpu_folds.json")   # V_CPU_CACHE: another CPU (e.g. V_CLOCK on it)


def unit_fit(ds, keep, unit, fb=None):
    mask = keep & np.array([r.unit == unit for r in ds.rows])
    return fit.fit_unit(ds, mask, PHONES, unit, fb)


def fold(ds, keep, key, cache):
    """CPU (cached), GPU and ANE fits of one fold, as fit.fit_all does."""
    if key not in cache:
        cache[key] = {p: f.theta for p, f in unit_fit(ds, keep, "cpu").items()}
    cpu = cache[key]
    gpu = unit_fit(ds, keep, "gpu")
    fb = {p: {"cpu": cpu[p], "gpu": gpu[p].theta} for p in PHONES}
    ane = unit_fit(ds, keep, "ane", fb)
    return {p: {"cpu": fit.UnitFit(p, "cpu", cpu[p]), "gpu": gpu[p], "ane": ane[p]} for p in PHONES}


def main(name, params):
    up = {u: list(v) for u, v in priors.UNIT_PARAMS.items()}
    for s in params:
        u, n = s.split(":")
        up[u].append(n)
    priors.UNIT_PARAMS = {u: tuple(v) for u, v in up.items()}
    import gpu_ane_variants
    gpu_ane_variants.install()
    import clock_variants   # hypothesis H (V_CLOCK; no-op unless set)
    clock_variants.install()
    t0 = time.time()
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows, tuple(filter(None, os.environ.get("V_FUSE", "").split(","))))
    macs, _ = net_stats(ds)
    fam = np.array([r.family for r in ds.rows])
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    cv, shape = [], {}
    for f in sorted({r.family for r in rows if r.article}):
        fits = fold(ds, fam != f, f, cache)
        for p in PHONES:
            test = [i for i, r in enumerate(rows) if r.article and r.family == f and r.phone == p and r.unit != "cpu"]
            for i, v in zip(test, fit.predict_rows(ds, fits[p], test)):
                if fits[p][rows[i].unit].fitted:
                    cv.append({"model": rows[i].model, "phone": p, "unit": rows[i].unit,
                               "lr": float(np.log(v / rows[i].ms))})
        if f == "mobilenet_v2":
            for u in ("gpu", "ane"):
                idx = np.flatnonzero(sweep_rows(ds, u))
                lr = np.log(fit.predict_rows(ds, fits["iphone11"], idx)) - np.log([rows[i].ms for i in idx])
                shape[u] = round(float(np.mean(abs(lr - lr.mean()))) * 100, 1)
    small = sweep_rows(ds) & (macs[ds.net_index] <= SMALL_MACS)
    ns = fold(ds, ~small, "_no_small", cache)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps(cache) + "\n")
    so = {}
    for u in ("gpu", "ane"):
        idx = np.flatnonzero(small & sweep_rows(ds, u))
        off = ns["iphone11"][u].offsets.get(rows[idx[0]].source, 0.0)
        lr = np.log(fit.predict_rows(ds, ns["iphone11"], idx)) + off - np.log([rows[i].ms for i in idx])
        so[u] = (round(float(np.mean(lr)) * 100, 1), round(float(np.mean(abs(lr))) * 100, 1))
    full = fold(ds, np.ones(len(rows), bool), "_all", cache)

    def stat(sel):
        lr = np.array([r["lr"] for r in sel])
        return round(float(np.median(abs(np.exp(lr) - 1))) * 100, 1), round(float(np.mean(abs(lr))) * 100, 1), len(lr)
    res = {"name": name, "params": params, "env": {k: v for k, v in os.environ.items() if k.startswith("V_")}}
    for u in ("gpu", "ane"):
        cu = [r for r in cv if r["unit"] == u]
        res[u] = {"all": stat(cu), "phones": {p: stat([r for r in cu if r["phone"] == p])
                                              for p in PHONES if any(r["phone"] == p for r in cu)},
                  "a": stat([r for r in cu if r["model"] in RULE]), "b": stat([r for r in cu if r["model"] in FIRST_PASS]),
                  "shape": shape[u], "small_out": so[u],
                  "per_model": {m: {r["phone"]: round((np.exp(r["lr"]) - 1) * 100) for r in cu if r["model"] == m}
                                for m in sorted({r["model"] for r in cu})},
                  "theta_iphone11": {k: float(f"{np.exp(v):.4g}") for k, v in full["iphone11"][u].theta.items()}}
    res["secs"] = round(time.time() - t0)
    out = OUT / f"{name}.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"{name} ({res['secs']} s)")
    for u in ("gpu", "ane"):
        r = res[u]
        print(f"  {u}: all {r['all'][:2]} phones {[v[:2] for v in r['phones'].values()]} a {r['a'][:2]} "
              f"b {r['b'][:2]} shape {r['shape']} small-out {r['small_out']}")
    for u in ("gpu", "ane"):
        for m, v in res[u]["per_model"].items():
            print(f"  {u} {m}: {v}")
    for u in ("gpu", "ane"):
        print(f"  {u} theta(iphone11):", {k: f"{v:.3g}" for k, v in res[u]["theta_iphone11"].items()}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
