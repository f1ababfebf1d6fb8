"""Stacked bias correction, step 1 (scratch README "Stacked bias correction"): the cost model 1.5 LOMO predictions
that the second stage is fitted on and scored with, cached in ``results/stack/folds.json``.

Folds (each ``gpu_ane_harness.fold``: CPU, GPU, then ANE, exactly as ``nas tables calibrate``):
* ``m``      -- the outer LOMO fold of article family m (every row of m dropped, in every source);
* ``g|m``    -- the inner fold for the pair {g, m} (both dropped): gives g's residual for outer m and m's for outer g;
* ``_no_small`` -- without the MobileNet v2 sweep's <= 150 M MAC points (small-out).
Per fold and per predicted row: model, phone, unit, measured and predicted ms, and the predicted share of fixed
costs (launch, overhead, transfers set to zero). A fold already in the cache is never recomputed.
Usage: nice -n 10 env OMP_NUM_THREADS=1 python experiments/article_speed/scratch/stack_folds.py
"""
from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import gpu_ane_harness as H  # noqa: E402  (puts the repo root and experiments/article_speed on the path)
from nas.latency.costmodel import fit  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402
from nas.latency.costmodel.model import net_ms  # noqa: E402
from subsets import SMALL_MACS, net_stats, sweep_rows  # noqa: E402

OUT = HERE / "results" / "stack"
CACHE = OUT / "folds.json"
FIXED = ("launch", "overhead", "transfer", "xfer_cpu")


def no_fixed(th):
    return {k: (-50.0 if k in FIXED else v) for k, v in th.items()}


def predict(ds, fits, idx):
    """Predicted ms and fixed-cost share of rows ``idx`` (one phone's fits ``fits[unit]``)."""
    out = []
    fb = {u: fits[u].theta for u in ("cpu", "gpu")}
    fb0 = {u: no_fixed(fits[u].theta) for u in ("cpu", "gpu")}
    for i in idx:
        r = ds.rows[i]
        th = fits[r.unit].theta
        n = ds.net_index[i]
        full = net_ms(ds.batch, r.unit, th, fb if r.unit == "ane" else None)[n]
        var = net_ms(ds.batch, r.unit, no_fixed(th), fb0 if r.unit == "ane" else None)[n]
        out.append((float(full), float(1.0 - var / full), fits[r.unit].fitted))
    return out


def rows_of(ds, fits, sel):
    res = []
    for p in PHONES:
        idx = [i for i in np.flatnonzero(sel) if ds.rows[i].phone == p]
        for i, (ms, share, ok) in zip(idx, predict(ds, fits[p], idx)):
            r = ds.rows[i]
            if ok:
                res.append({"i": int(i), "model": r.model, "family": r.family, "phone": p, "unit": r.unit,
                            "source": r.source, "ms": r.ms, "pred": ms, "fixed": share})
    return res


def main():
    t0 = time.time()
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows)
    macs, _ = net_stats(ds)
    fam = np.array([r.family for r in rows])
    art = np.array([r.article for r in rows])
    fams = sorted({r.family for r in rows if r.article})
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    OUT.mkdir(parents=True, exist_ok=True)
    cpu_cache: dict = {}
    small = sweep_rows(ds) & (macs[ds.net_index] <= SMALL_MACS)
    keys = [(f,) for f in fams] + list(itertools.combinations(fams, 2)) + [("_no_small",)]
    for key in tqdm(keys, desc="folds"):
        name = "|".join(key)
        if name in cache:
            continue
        keep = ~small if key == ("_no_small",) else ~np.isin(fam, key)
        fits = H.fold(ds, keep, name, cpu_cache)
        sel = small if key == ("_no_small",) else art & np.isin(fam, key)
        entry = {"rows": rows_of(ds, fits, sel)}
        if key == ("mobilenet_v2",):
            entry["sweep"] = rows_of(ds, fits, sweep_rows(ds))
        if key == ("_no_small",):
            entry["offset"] = {u: fits["iphone11"][u].offsets.get(rows[np.flatnonzero(small)[0]].source, 0.0)
                               for u in ("cpu", "gpu", "ane")}
        if key == ("_no_small",):   # fold() rebuilds the CPU fit from its theta alone: its offsets come from here
            entry["offset"]["cpu"] = H.unit_fit(ds, keep, "cpu")["iphone11"].offsets.get(
                rows[np.flatnonzero(small)[0]].source, 0.0)
        cache[name] = entry
        CACHE.write_text(json.dumps(cache) + "\n")
    nets = {str(n): {"macs": float(macs[n]),
                     "launches": float(np.bincount(ds.batch.net_of_block[ds.batch.atoms.block],
                                                   ds.batch.atoms.launches, minlength=ds.batch.n_nets)[n])}
            for n in sorted(set(ds.net_index.tolist()))}
    cache["_nets"] = nets
    cache["_net_of_row"] = [int(n) for n in ds.net_index]
    CACHE.write_text(json.dumps(cache) + "\n")
    print(f"{len(keys)} folds, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
