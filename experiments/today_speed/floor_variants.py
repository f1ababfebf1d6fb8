"""Which per-inference floor the data support: the variants compared in README.md, cross-validated alike.

    python experiments/today_speed/floor_variants.py

Each variant refits today's regime and runs its three cross-validations (leave one model family /
source / phone out, as ``run.py``), then prices the held-out MobileNetV3-Small on the iPhone 14 Pro
(A16, iOS 17: Apple's coremltools docs publish 0.13 ms; never fitted). Writes ``floor_variants.json``
and ``floor_variants.md``. Variants:

- ``shared``: one floor for every row (the model before this comparison);
- ``os17_w{1.0,0.5,2.0}``: rows recording iOS 17+ pay the floor times one fitted factor (prior width);
- ``os17_unknown``: as ``os17_w1.0``, and rows whose OS no source states get a factor of their own;
- ``os17_launch``: as ``os17_w1.0``, and the same factor also scales the per-layer (launch) cost.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from nas import zoo  # noqa: E402
from nas.fsutil import write_atomic  # noqa: E402
from nas.latency.costmodel import today_fit  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES as PHONES_2020  # noqa: E402
from nas.latency.costmodel.fit import Dataset  # noqa: E402
from nas.latency.costmodel.model import net_ms  # noqa: E402
from nas.latency.costmodel.today_calibrate import REF_2020  # noqa: E402
from nas.latency.costmodel.today_data import load_today  # noqa: E402

ORIGINAL_GROUP = today_fit.floor_group


def _unknown_too(os_major: str) -> str | None:
    return ORIGINAL_GROUP(os_major) or (None if os_major else "unstated")


VARIANTS = {"shared": ({}, ORIGINAL_GROUP), "os17_w1.0": ({"ios17+": 1.0}, ORIGINAL_GROUP),
            "os17_w0.5": ({"ios17+": 0.5}, ORIGINAL_GROUP), "os17_w2.0": ({"ios17+": 2.0}, ORIGINAL_GROUP),
            "os17_unknown": ({"ios17+": 1.0, "unstated": 1.0}, _unknown_too),
            "os17_launch": ({"ios17+": 1.0}, ORIGINAL_GROUP, ("overhead", "launch"))}


def main() -> int:
    rows2020, _ = load_all(DEFAULT_FILES)
    fits2020 = today_fit.fit_2020(rows2020, PHONES_2020)
    rows, _, _ = load_today()
    ds = Dataset(rows, today_fit.DROP)
    small = Dataset([rows[0].__class__("mobilenet_v3_small", "mobilenet_v3", "x", "iphone15", "ane", 0.13, 0.1,
                                       zoo.get("mobilenet_v3_small").spec, True, "iphone14pro", "17")],
                    today_fit.DROP)
    out = {}
    for name, (prior, group, *params) in tqdm(VARIANTS.items(), desc="variants"):
        today_fit.FLOOR_PRIOR, today_fit.floor_group = prior, group
        today_fit.FLOOR_PARAMS = params[0] if params else ("overhead",)
        model = today_fit.fit_today(ds, np.ones(len(rows), bool), fits2020, REF_2020)
        in_sample = today_fit.predict(model, ds, range(len(rows)))
        cv = today_fit.cross_validate(ds, fits2020, REF_2020)
        th = model.theta("iphone14pro", "17")
        mnv3s = float(net_ms(small.batch, "ane", th, model.fallback("iphone14pro"))[0])
        out[name] = {"floor_prior": prior, "floor_shift": model.floor_shift,
                     "overhead_ms_ios16": round(float(np.exp(model.theta("iphone13")["overhead"]) * 1e3), 4),
                     "overhead_ms_ios17": round(float(np.exp(model.theta("iphone13", "17")["overhead"]) * 1e3), 4),
                     "in_sample_median_ape_pct": round(float(np.median(
                         [abs(p / r.ms - 1) * 100 for p, r in zip(in_sample, rows)])), 1),
                     "mnv3_small_iphone14pro_ios17_ms": round(mnv3s, 3),
                     "cv_summary": today_fit.summarize_cv(cv), "cv": cv}
    today_fit.FLOOR_PRIOR, today_fit.floor_group = VARIANTS["os17_w1.0"][0], ORIGINAL_GROUP
    today_fit.FLOOR_PARAMS = ("overhead",)
    write_atomic(HERE / "floor_variants.json", json.dumps(out, indent=1) + "\n")
    devices = sorted({r.device for r in rows})
    md = ["# Per-inference floor variants (`python experiments/today_speed/floor_variants.py`)", "",
          "Median absolute % error, overall and per left-out / measured phone; MobileNetV3-Small on iPhone 14 Pro "
          "(iOS 17) is published at 0.13 ms (held out, never fitted).", "",
          "| variant | CV | overall | " + " | ".join(devices) + " | MNv3-S 14 Pro | floor iOS 16 / 17+ ms |",
          "|---|---|---|" + "---|" * len(devices) + "---|---|"]
    for name, v in out.items():
        for kind in ("phone", "source", "model"):
            s = v["cv_summary"][kind]
            per = [f"{s['per_device'][d]['median_ape_pct']}" if d in s["per_device"] else "–" for d in devices]
            md.append(f"| {name} | {kind} | {s['overall']['median_ape_pct']} | " + " | ".join(per)
                      + f" | {v['mnv3_small_iphone14pro_ios17_ms']} | {v['overhead_ms_ios16']} / "
                        f"{v['overhead_ms_ios17']} |")
    write_atomic(HERE / "floor_variants.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
