"""Which of the two CPU changes of cost model 1.2 does what: leave-one-model-out error with each switched off.

Refits the 2020 regime (``nas.latency.costmodel.fit``) four ways on the shipped calibration files and
cross-validates each exactly as ``nas tables calibrate`` does (leave one model family out, every phone
and source):

* ``1.1 form``: the CPU fitted with the robust soft-L1 loss and no matrix-block term (the form before);
* ``+ AMX``: the A13's dense convs / FC priced at the fitted matrix-block rate (``priors.CHIP_PARAMS``);
* ``+ least squares``: the CPU fitted by plain least squares on the log residuals;
* ``1.2 (shipped)``: both.

Writes ``ablation.json`` and ``ablation.md`` here; about 1 minute on one core.

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
from nas.latency.costmodel import fit, priors  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402

VARIANTS = {"1.1 form": ("soft_l1", ()), "+ AMX": ("soft_l1", ("amx",)),
            "+ least squares": ("linear", ()), "1.2 (shipped)": ("linear", ("amx",))}
KEYS = ("iphone11/cpu", "iphonexs/cpu", "iphonex/cpu", "iphone11/gpu", "iphonexs/gpu", "iphonex/gpu",
        "iphone11/ane", "iphonexs/ane")


def run_variant(ds, loss: str, chip_params: tuple) -> dict:
    old_loss, old_chip = dict(fit.FORM["loss"]), priors.CHIP_PARAMS
    fit.FORM["loss"]["cpu"], priors.CHIP_PARAMS = loss, chip_params
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
        fit.FORM["loss"], priors.CHIP_PARAMS = old_loss, old_chip
    log_err = {u: round(100 * float(np.mean([abs(np.log(r["predicted_ms"] / r["measured_ms"]))
                                            for r in cv if r["unit"] == u])), 1) for u in ("cpu", "gpu", "ane")}
    return {"in_sample": fit.summarize(ins), "loo": fit.summarize(cv), "loo_mean_abs_log_pct": log_err}


def markdown(res: dict) -> str:
    names = list(res)
    lines = ["# Ablation of cost model 1.2's CPU changes (2020 regime)", "",
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
    lines.append("| CPU mean abs log error, LOO | " + " | ".join(f"{res[n]['loo_mean_abs_log_pct']['cpu']} %"
                                                               for n in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows)
    res = {}
    for name, (loss, chip) in VARIANTS.items():
        res[name] = run_variant(ds, loss, chip)
        print(f"{name}: LOO cpu {res[name]['loo']['per_unit']['cpu']['median_ape_pct']} %, "
              f"overall {res[name]['loo']['overall_median_ape_pct']} %", flush=True)
    write_atomic(HERE / "ablation.json", json.dumps(res, indent=1) + "\n")
    write_atomic(HERE / "ablation.md", markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
