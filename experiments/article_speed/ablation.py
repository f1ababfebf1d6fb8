"""Which change of cost models 1.2, 1.3 (CPU), 1.4 (GPU) and 1.5 (ANE fallback) does what: leave-one-model-out error with each switched off.

Refits the 2020 regime (``nas.latency.costmodel.fit``) four ways on the shipped calibration files and
cross-validates each exactly as ``nas tables calibrate`` does (leave one model family out, every phone
and source):

* ``1.1 form``: the CPU fitted with the robust soft-L1 loss and no matrix-block term (the form before);
* ``+ AMX``: the A13's dense convs / FC priced at the fitted matrix-block rate (``priors.CHIP_PARAMS``);
* ``+ least squares``: the CPU fitted by plain least squares on the log residuals;
* ``1.2``: both;
* ``1.3``: 1.2 plus the CPU's per-inference weight read at its own rate (``priors.UNIT_PARAMS``);
* ``+ GPU 3x3``, ``+ GPU 3x3 + splits``: 1.3 plus the GPU's dense 3x3 stride-1 rate (``wino``), then channel
  splits' own multiplier (``split``);
* ``1.4``: 1.3 plus the three GPU terms (``wino``, ``split``, occupancy ``occ``);
* ``+ off-ANE block on one unit``: 1.4 with every off-ANE block run whole on the cheaper of CPU and GPU;
* ``+ own ANE-CPU switch``: and an ANE <-> CPU switch cost of its own (``xfer_cpu``);
* ``1.5 (shipped)``: and blocks off for the SE broadcast (L7) on the GPU (``atoms.GPU_FALLBACK_RULES``).
  Every variant before these uses 1.4's per-layer fallback (``model.FALLBACK = "layer"``).

Writes ``ablation.json`` and ``ablation.md`` here; about 7 minutes on one core.

Usage: python experiments/article_speed/ablation.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nas.fsutil import write_atomic  # noqa: E402
from nas.latency.costmodel import fit, model, priors  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402

_14 = {"cpu": ("wbw",), "gpu": ("wino", "split", "occ")}
VARIANTS = {"1.1 form": ("soft_l1", (), {}), "+ AMX": ("soft_l1", ("amx",), {}),
            "+ least squares": ("linear", (), {}), "1.2": ("linear", ("amx",), {}),
            "1.3": ("linear", ("amx",), {"cpu": ("wbw",)}),
            "+ GPU 3x3": ("linear", ("amx",), {"cpu": ("wbw",), "gpu": ("wino",)}),
            "+ GPU 3x3 + splits": ("linear", ("amx",), {"cpu": ("wbw",), "gpu": ("wino", "split")}),
            "1.4": ("linear", ("amx",), _14),
            "+ off-ANE block on one unit": ("linear", ("amx",), _14, "cheaper"),
            "+ own ANE-CPU switch": ("linear", ("amx",), dict(_14, ane=("xfer_cpu",)), "cheaper"),
            "1.5 (shipped)": ("linear", ("amx",), dict(_14, ane=("xfer_cpu",)), "block")}
KEYS = ("iphone11/cpu", "iphonexs/cpu", "iphonex/cpu", "iphone11/gpu", "iphonexs/gpu", "iphonex/gpu",
        "iphone11/ane", "iphonexs/ane")


def run_variant(ds, loss: str, chip_params: tuple, unit_params: dict, fallback: str = "layer") -> dict:
    old_loss, old_chip, old_unit = dict(fit.FORM["loss"]), priors.CHIP_PARAMS, priors.UNIT_PARAMS
    fit.FORM["loss"]["cpu"], priors.CHIP_PARAMS, priors.UNIT_PARAMS = loss, chip_params, unit_params
    model.FALLBACK = fallback
    try:
        fits = fit.fit_all(ds, PHONES)
        ins = []
        for p in PHONES:
            idx = [i for i, r in enumerate(ds.rows) if r.phone == p and r.article]
            for i, v in zip(idx, fit.predict_rows(ds, fits[p], idx)):
                r = ds.rows[i]
                ins.append({"model": r.model, "phone": p, "unit": r.unit, "measured_ms": r.ms, "predicted_ms": float(v)})
        cv = fit.loo(ds, PHONES)
    finally:
        fit.FORM["loss"], priors.CHIP_PARAMS, priors.UNIT_PARAMS = old_loss, old_chip, old_unit
        model.FALLBACK = "block"
    log_err = {u: round(100 * float(np.mean([abs(np.log(r["predicted_ms"] / r["measured_ms"]))
                                            for r in cv if r["unit"] == u])), 1) for u in ("cpu", "gpu", "ane")}
    log_err["all"] = round(100 * float(np.mean([abs(np.log(r["predicted_ms"] / r["measured_ms"])) for r in cv])), 1)
    return {"in_sample": fit.summarize(ins), "loo": fit.summarize(cv), "loo_mean_abs_log_pct": log_err}


def markdown(res: dict) -> str:
    names = list(res)
    lines = ["# Ablation of cost models 1.2 and 1.3's CPU changes, 1.4's GPU changes and 1.5's ANE fallback (2020 regime)", "",
             "Median |error| of leave-one-model-out predictions on the article's published rows (in-sample in "
             "brackets). Regenerate: `python experiments/article_speed/ablation.py`.", "",
             "| phone / unit | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for k in KEYS:
        lines.append(f"| {k} | " + " | ".join(
            f"{res[n]['loo']['per_phone_unit'][k]['median_ape_pct']} % "
            f"({res[n]['in_sample']['per_phone_unit'][k]['median_ape_pct']} %)" for n in names) + " |")
    for u in ("cpu", "gpu", "ane"):
        lines.append(f"| all phones / {u} | " + " | ".join(
            f"{res[n]['loo']['per_unit'][u]['median_ape_pct']} % ({res[n]['in_sample']['per_unit'][u]['median_ape_pct']} %)"
            for n in names) + " |")
    lines.append("| all | " + " | ".join(f"{res[n]['loo']['overall_median_ape_pct']} % "
                                         f"({res[n]['in_sample']['overall_median_ape_pct']} %)" for n in names) + " |")
    for u in ("cpu", "gpu", "ane", "all"):
        lines.append(f"| {u.upper() if u != 'all' else 'all units'} mean abs log error, LOO | " + " | ".join(
            f"{res[n]['loo_mean_abs_log_pct'][u]} %" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows)
    res = {}
    for name, v in VARIANTS.items():
        res[name] = run_variant(ds, *v)
        print(f"{name}: LOO cpu {res[name]['loo']['per_unit']['cpu']['median_ape_pct']} %, "
              f"overall {res[name]['loo']['overall_median_ape_pct']} %", flush=True)
    write_atomic(HERE / "ablation.json", json.dumps(res, indent=1) + "\n")
    write_atomic(HERE / "ablation.md", markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
