"""Hypothesis H (clock scaling) in today's regime: scored like ``fusion_variants.py`` (its keep rule; README.md).

    python experiments/today_speed/clock_variants.py

H: the prior centres of ``launch``, ``overhead`` and ``eltwise`` move by log(peak_A13 / peak_chip) per unit, so
every chip's per-layer and per-network costs scale with its published peak like its convs do (no new parameter;
the patch is ``experiments/article_speed/scratch/clock_variants.py``, stated in that folder's README before any
run). Variants: ``shipped``; ``H`` (all units: the ANE and the 2020 CPU / GPU fallback models moved to each
chip); ``H_ane`` (the ANE only); ``H_cpu`` (the CPU fallback model only; added after the 2020 runs,
where H passed only the CPU rule). ``clock_variants.py NAME ...`` runs only those. Writes ``clock_variants.json``: the cross-validations of ``run.py``, leave one
phone out on the reference-protocol rows, and the A18 / A18 Pro (iPhone 16 / 16 Pro) and iPhone 14 Pro
predictions of small zoo models at the iOS 17+ floor.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent / "article_speed" / "scratch"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import clock_variants  # noqa: E402
import nas.latency.costmodel.model as cm  # noqa: E402
from fusion_variants import NEW_OS_PHONES, REF_SOURCES, RULES, SMALL, _med  # noqa: E402
from nas import zoo  # noqa: E402
from nas.arch.resolve import resolve  # noqa: E402
from nas.fsutil import write_atomic  # noqa: E402
from nas.latency.costmodel import today_fit  # noqa: E402
from nas.latency.costmodel.atoms import block_atoms  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES as PHONES_2020  # noqa: E402
from nas.latency.costmodel.fit import Dataset  # noqa: E402
from nas.latency.costmodel.today_calibrate import REF_2020  # noqa: E402
from nas.latency.costmodel.today_data import load_today  # noqa: E402

VARIANTS = {"shipped": "", "H": "cpu,gpu,ane", "H_ane": "ane", "H_cpu": "cpu"}
ONLY = tuple(sys.argv[1:])   # run only these variants (the JSON keeps the others' earlier figures)
PHONES_OUT = ("iphone14pro", "iphone16", "iphone16pro")


def _zoo(model) -> dict:
    nets = cm.make_batch([[block_atoms(l.block, l.in_shape) for l in resolve(zoo.get(n).spec)] for n in SMALL], RULES)
    return {p: {n: round(float(v), 4) for n, v in zip(SMALL, cm.net_ms(nets, "ane", model.theta(p, "17"),
                                                                          model.fallback(p)))} for p in PHONES_OUT}


def main() -> int:
    clock_variants.install()
    rows, _, _ = load_today()
    path = HERE / "clock_variants.json"
    out = json.loads(path.read_text()) if ONLY and path.exists() else {}
    for name, units in tqdm([(k, v) for k, v in VARIANTS.items() if not ONLY or k in ONLY], desc="variants"):
        os.environ["V_CLOCK"], os.environ["V_CLOCK_UNITS"] = ("1" if units else "0"), units
        fits2020 = today_fit.fit_2020(load_all(DEFAULT_FILES)[0], PHONES_2020)
        ds = Dataset(rows, RULES)
        model = today_fit.fit_today(ds, np.ones(len(rows), bool), fits2020, REF_2020)
        ins = today_fit.predict(model, ds, range(len(rows)))
        cv = today_fit.cross_validate(ds, fits2020, REF_2020)
        s = today_fit.summarize_cv(cv)
        ref = [r for r in cv if r["cv"] == "phone" and r["source"] in REF_SOURCES]
        th = {p: model.theta(p, "17") for p in ("iphone12", "iphone14pro", "iphone15pro", "iphone16pro")}
        out[name] = {"units": units,
                     "in_sample": round(float(np.median(np.abs(ins / np.array([r.ms for r in rows]) - 1))) * 100, 1),
                     "launch_us": {p: round(float(np.exp(t["launch"]) * 1e6), 3) for p, t in th.items()},
                     "eltwise_multiplier": {p: round(float(np.exp(t["eltwise"])), 3) for p, t in th.items()},
                     "floor_ms_ios17": {p: round(float(np.exp(t["overhead"]) * 1e3), 4) for p, t in th.items()},
                     "zoo_ms_ios17": _zoo(model),
                     "cv": {k: {"overall": v["overall"]["median_ape_pct"],
                                **{d: x["median_ape_pct"] for d, x in v["per_device"].items()}} for k, v in s.items()},
                     "phone_reference_protocol": {"overall": _med(ref), **{d: _med([r for r in ref if r["device"] == d])
                                                                          for d in sorted({r["device"] for r in ref})}},
                     "phone_out_rows": [{k: r[k] for k in ("model", "source", "device", "measured_ms", "predicted_ms")}
                                        for r in cv if r["cv"] == "phone"]}
        print(name, json.dumps({k: v for k, v in out[name].items() if k != "phone_out_rows"}), flush=True)
    os.environ["V_CLOCK"] = "0"
    write_atomic(path, json.dumps({k: out[k] for k in VARIANTS if k in out}, indent=1) + "\n")
    print("iOS 17 phones' phone-out mean:", {k: np.mean([v["cv"]["phone"][p] for p in NEW_OS_PHONES if p in v["cv"]["phone"]])
                                             for k, v in out.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
