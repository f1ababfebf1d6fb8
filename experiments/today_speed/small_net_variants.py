"""What drives the overprediction of small networks on iOS 17: variants tried, cross-validated alike (README.md).

    python experiments/today_speed/small_net_variants.py

Prints where the iOS 17+ table's time of MobileNetV3-Small and MobileNetV2 goes on the iPhone 14 Pro (A16)
(floor, per-layer launches, roofline per class), then refits today's regime per variant and runs the three
cross-validations of ``run.py`` plus leave one phone out on the reference-protocol rows. Writes
``small_net_variants.json`` (summaries, no per-row predictions). Variants:

- ``os17_floor``: the shipped model (the iOS 17+ factor scales the per-inference floor);
- ``os17_launch``: the same factor also scales the per-layer (launch) cost (``today_fit.FLOOR_PARAMS``);
- ``onchip_{1,4}MB``: scratch only, not a shipped option: on the ANE the first 1 / 4 MB of a layer's
  activations are not charged to the roofline's memory term (an on-chip buffer), by wrapping ``model.atom_ms``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import nas.latency.costmodel.model as cm  # noqa: E402
from nas import zoo  # noqa: E402
from nas.arch.resolve import resolve  # noqa: E402
from nas.fsutil import write_atomic  # noqa: E402
from nas.latency.costmodel import today_fit  # noqa: E402
from nas.latency.costmodel.atoms import CLASSES, block_atoms  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES as PHONES_2020  # noqa: E402
from nas.latency.costmodel.fit import Dataset  # noqa: E402
from nas.latency.costmodel.today_calibrate import REF_2020  # noqa: E402
from nas.latency.costmodel.today_data import load_today  # noqa: E402

REF_SOURCES = {"mnv4_t6", "repvit", "efficientformer", "iformer", "coremltools_docs"}
ATOM_MS = cm.atom_ms
VARIANTS = {"os17_floor": (("overhead",), 0.0), "os17_launch": (("overhead", "launch"), 0.0),
            "onchip_1MB": (("overhead",), 1e6), "onchip_4MB": (("overhead",), 4e6)}


def _onchip(nbytes: float):
    def atom_ms(a, th, unit):
        if unit != "ane" or not nbytes:
            return ATOM_MS(a, th, unit)
        return ATOM_MS(dataclasses.replace(a, act=np.maximum(a.act - nbytes / cm.BYTES["ane"], 0.0)), th, unit)
    return atom_ms


def _med(sel) -> float:
    return round(float(np.median([abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel])), 1)


def _breakdown(model, name: str) -> dict:
    th, fb = model.theta("iphone14pro", "17"), model.fallback("iphone14pro")
    batch = cm.make_batch([[block_atoms(l.block, l.in_shape) for l in resolve(zoo.get(name).spec)]], today_fit.DROP)
    a = batch.atoms
    no_launch = cm.atom_ms(a, dict(th, launch=-50.0), "ane")
    out = {"floor": np.exp(th["overhead"]) * 1e3, "launches": float(a.launches.sum() * np.exp(th["launch"]) * 1e3),
           "layers": int(a.launches.sum())}
    out.update({c: float(no_launch[a.cls == i].sum()) for i, c in enumerate(CLASSES) if (a.cls == i).any()})
    out["total"] = float(cm.net_ms(batch, "ane", th, fb)[0])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def main() -> int:
    fits2020 = today_fit.fit_2020(load_all(DEFAULT_FILES)[0], PHONES_2020)
    rows, _, _ = load_today()
    ds = Dataset(rows, today_fit.DROP)
    out = {}
    for name, (params, onchip) in tqdm(VARIANTS.items(), desc="variants"):
        cm.atom_ms, today_fit.FLOOR_PARAMS = _onchip(onchip), params
        model = today_fit.fit_today(ds, np.ones(len(rows), bool), fits2020, REF_2020)
        cv = today_fit.cross_validate(ds, fits2020, REF_2020)
        s = today_fit.summarize_cv(cv)
        ref = [r for r in cv if r["cv"] == "phone" and r["source"] in REF_SOURCES]
        fam = {f: _med([r for r in cv if r["cv"] == "model" and r["left_out"] == f])
               for f in sorted({r["left_out"] for r in cv if r["cv"] == "model"})}
        th16, th17 = model.theta("iphone13"), model.theta("iphone14pro", "17")
        out[name] = {"floor_ms_ios16": round(float(np.exp(th16["overhead"]) * 1e3), 4),
                     "floor_ms_ios17": round(float(np.exp(th17["overhead"]) * 1e3), 4),
                     "launch_us_ios16": round(float(np.exp(th16["launch"]) * 1e6), 3),
                     "launch_us_ios17": round(float(np.exp(th17["launch"]) * 1e6), 3),
                     "mobilenet_v3_small_iphone14pro_ios17": _breakdown(model, "mobilenet_v3_small"),
                     "mobilenet_v2_iphone14pro_ios17": _breakdown(model, "mobilenet_v2"),
                     "cv": {k: {"overall": v["overall"]["median_ape_pct"],
                                **{d: x["median_ape_pct"] for d, x in v["per_device"].items()}} for k, v in s.items()},
                     "phone_reference_protocol": {"overall": _med(ref), **{d: _med([r for r in ref if r["device"] == d])
                                                                          for d in sorted({r["device"] for r in ref})}},
                     "family_out_per_family": fam}
        print(name, json.dumps(out[name]), flush=True)
    cm.atom_ms, today_fit.FLOOR_PARAMS = ATOM_MS, ("overhead",)
    write_atomic(HERE / "small_net_variants.json", json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
