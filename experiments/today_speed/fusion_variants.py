"""Activation fusion on the Neural Engine (atoms.FUSIONS): variants tried, cross-validated alike (README.md).

    python experiments/today_speed/fusion_variants.py

Refits today's regime per variant and runs the three cross-validations of ``run.py`` plus leave one phone out
on the reference-protocol rows; prints and writes ``fusion_variants.json`` (summaries per phone, per family,
MobileNetV3-Small on the iPhone 14 Pro at the iOS 17+ floor). Variants (the ``drop`` tuple of the Dataset):

- ``shipped``: the regime before this change (no fusion);
- ``F1``: one-op activations right after a conv (ReLU6, leaky / PReLU, sigmoid, hard-sigmoid) and the activation
  half of swish / h-swish cost nothing on the ANE (fused into the conv task's nonlinear stage);
- ``F2``: F1, and swish / h-swish whole (one unary lookup table);
- ``F3`` (added after F1 / F2 had been run, same keep rule, stated before its run): F2, and a residual add right
  after a conv, with any activation after it, fused into the conv's task;
- ``L2fit`` / ``F2_L2fit`` (added after F3 had been run, same keep rule, stated before their run; scratch, by
  wrapping ``model.atom_ms``): on the ANE a layer whose activations (input + output, fp16) fit in the 4 MB
  on-chip buffer pays no activation memory traffic (weights still do); a larger layer pays all of it. 4 MB is the
  ANE compiler's ``--memcache-size=4194304`` for target h13 (A14 / M1) in tinygrad's extra/accel/ane/README.old
  ("It operates out of RAM or its 4MB L2 cache", README.md); other chips' sizes are not public, 4 MB is assumed.

Keep rule, stated before any variant's figures were seen (README.md): a variant is kept only if, against
``shipped``, (a) leave one phone out overall is at most 0.2 pp worse, (b) the mean of leave one phone out on the
two iOS 17 phones (iPhone 14 Pro, 15 Pro) is at most 1 pp worse, (c) leave one source out and leave one family
out are each at most 0.5 pp worse, (d) leave one phone out on the reference-protocol rows is at most 0.5 pp
worse, and (e) at least one of the three overall figures improves by 0.5 pp or more. If both qualify, the lower
leave one phone out overall wins; a tie goes to F1 (fewer assumptions).
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
from nas.latency.costmodel.atoms import REGIME_DROPS, block_atoms  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES as PHONES_2020  # noqa: E402
from nas.latency.costmodel.fit import Dataset  # noqa: E402
from nas.latency.costmodel.today_calibrate import REF_2020  # noqa: E402
from nas.latency.costmodel.today_data import load_today  # noqa: E402
from nas.latency.regime import DEFAULT_RUNTIME  # noqa: E402

REF_SOURCES = {"mnv4_t6", "repvit", "efficientformer", "iformer", "coremltools_docs"}
RULES = REGIME_DROPS[DEFAULT_RUNTIME]
VARIANTS = {"shipped": RULES, "F1": RULES + ("F1",), "F2": RULES + ("F2",), "F3": RULES + ("F3",),
            "L2fit": RULES, "F2_L2fit": RULES + ("F2",)}
ONCHIP = {"L2fit": 4194304.0, "F2_L2fit": 4194304.0}   # bytes (scratch: wraps model.atom_ms, not a shipped option)
ATOM_MS = cm.atom_ms
ONLY = tuple(sys.argv[1:])   # run only these variants (the JSON keeps the others' earlier figures)
SMALL = ("mobilenet_v3_small", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "resnet_50")
NEW_OS_PHONES = ("iphone14pro", "iphone15pro")


def _med(sel) -> float:
    return round(float(np.median([abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in sel])), 1)


def _zoo_ms(model, drop) -> dict:
    th, fb = model.theta("iphone14pro", "17"), model.fallback("iphone14pro")
    nets = [[block_atoms(l.block, l.in_shape) for l in resolve(zoo.get(n).spec)] for n in SMALL]
    return {n: round(float(v), 4) for n, v in zip(SMALL, cm.net_ms(cm.make_batch(nets, drop), "ane", th, fb))}


def _onchip(nbytes: float):
    def atom_ms(a, th, unit):
        if unit != "ane" or not nbytes:
            return ATOM_MS(a, th, unit)
        fits = a.act * cm.BYTES["ane"] <= nbytes
        return ATOM_MS(dataclasses.replace(a, act=np.where(fits, 0.0, a.act)), th, unit)
    return atom_ms


def main() -> int:
    fits2020 = today_fit.fit_2020(load_all(DEFAULT_FILES)[0], PHONES_2020)
    rows, _, _ = load_today()
    path = HERE / "fusion_variants.json"
    out = json.loads(path.read_text()) if ONLY and path.exists() else {}
    for name, drop in tqdm([(k, v) for k, v in VARIANTS.items() if not ONLY or k in ONLY], desc="variants"):
        cm.atom_ms = _onchip(ONCHIP.get(name, 0.0))
        ds = Dataset(rows, drop)
        model = today_fit.fit_today(ds, np.ones(len(rows), bool), fits2020, REF_2020)
        ins = today_fit.predict(model, ds, range(len(rows)))
        cv = today_fit.cross_validate(ds, fits2020, REF_2020)
        s = today_fit.summarize_cv(cv)
        ref = [r for r in cv if r["cv"] == "phone" and r["source"] in REF_SOURCES]
        fam = {f: _med([r for r in cv if r["cv"] == "model" and r["left_out"] == f])
               for f in sorted({r["left_out"] for r in cv if r["cv"] == "model"})}
        th = model.theta("iphone14pro", "17")
        out[name] = {"drop": list(drop),
                     "in_sample": round(float(np.median(np.abs(ins / np.array([r.ms for r in rows]) - 1))) * 100, 1),
                     "launch_us": round(float(np.exp(th["launch"]) * 1e6), 3),
                     "eltwise_multiplier": round(float(np.exp(th["eltwise"])), 3),
                     "floor_ms_ios17": round(float(np.exp(th["overhead"]) * 1e3), 4),
                     "iphone14pro_ios17_ms": _zoo_ms(model, drop),
                     "cv": {k: {"overall": v["overall"]["median_ape_pct"],
                                **{d: x["median_ape_pct"] for d, x in v["per_device"].items()}} for k, v in s.items()},
                     "phone_reference_protocol": {"overall": _med(ref), **{d: _med([r for r in ref if r["device"] == d])
                                                                          for d in sorted({r["device"] for r in ref})}},
                     "family_out_per_family": fam,
                     "phone_out_rows": [{k: r[k] for k in ("model", "source", "device", "measured_ms", "predicted_ms")}
                                        for r in cv if r["cv"] == "phone"]}
        print(name, json.dumps({k: v for k, v in out[name].items() if k != "phone_out_rows"}), flush=True)
    cm.atom_ms = ATOM_MS
    write_atomic(path, json.dumps({k: out[k] for k in VARIANTS if k in out}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
