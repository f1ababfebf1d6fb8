"""How cost models 1.2, 1.3, 1.4 and 1.5 do on the calibration data that looks like the article's held-out four.

The held-out four (MobileNetV3-small, FBNet-C, GhostNet 1.0, EfficientNet-Lite0) are small depthwise networks
whose article timings this project does not have. This script scores the cost model on what it does have
that looks like them (subsets fixed before the 1.3 variants were run; experiments/article_speed/README.md):

* (a) the pre-registered rule: article calibration models whose depthwise convs are >= 30 % of their conv
  layers (conv, depthwise and grouped atoms) and whose MACs are <= 600 M -- scored on their LOO rows;
* (b) the first pass's seven depthwise models, for comparison with it;
* (c) the chernykh iPhone 11 Pro MobileNet v2 sweep: *shape* (the LOO fold without the MobileNet v2 family,
  mean |log error| after removing the sweep's mean: its level is the source's offset) and *small-out*
  (refit without the sweep's points of <= 150 M MACs, predict them with the fitted source offset).

Writes ``subsets.json`` and ``subsets.md`` here; about 3 minutes on one core.

Usage: python experiments/article_speed/subsets.py
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
from nas.latency.costmodel.atoms import CLASSES  # noqa: E402
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all  # noqa: E402
from nas.latency.costmodel.calibrate import PHONES  # noqa: E402

VARIANTS = {"1.2": {}, "1.3": {"cpu": ("wbw",)},   # priors.UNIT_PARAMS of each
            "1.4": {"cpu": ("wbw",), "gpu": ("wino", "split", "occ")},
            "1.5 (shipped)": {"cpu": ("wbw",), "gpu": ("wino", "split", "occ"), "ane": ("xfer_cpu",)}}
FIRST_PASS = ("efficientnet_b0", "mixnet_m", "mnasnet_a1", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
              "shufflenet_v2_1_5")
SMALL_MACS = 150e6
UNITS = ("cpu", "gpu", "ane")


def net_stats(ds: fit.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """MACs and depthwise share of the conv layers of every network in the dataset."""
    a = ds.batch.atoms
    net = ds.batch.net_of_block[a.block]
    n = ds.batch.n_nets
    ci = {c: i for i, c in enumerate(CLASSES)}
    convs = np.bincount(net, np.isin(a.cls, [ci["conv"], ci["dwconv"], ci["gconv"]]), minlength=n)
    dw = np.bincount(net, a.cls == ci["dwconv"], minlength=n)
    return np.bincount(net, a.flops / 2, minlength=n), dw / np.maximum(convs, 1)


def sweep_rows(ds: fit.Dataset, unit: str | None = None) -> np.ndarray:
    return np.array([r.source.startswith("chernykh") and r.family == "mobilenet_v2" and (unit is None or r.unit == unit)
                     for r in ds.rows])


def scores(cv: list[dict], models) -> dict:
    out = {}
    for u in UNITS:
        sel = [r for r in cv if r["unit"] == u and r["model"] in models]
        lr = np.log([r["predicted_ms"] / r["measured_ms"] for r in sel])
        out[u] = {"n": len(sel), "median_ape_pct": round(float(np.median(abs(np.exp(lr) - 1))) * 100, 1),
                  "mean_abs_log_pct": round(float(np.mean(abs(lr))) * 100, 1)}
    return out


def run_variant(ds: fit.Dataset, macs: np.ndarray, dw_share: np.ndarray) -> dict:
    cv = fit.loo(ds, PHONES)
    rule = sorted({r.model for i, r in enumerate(ds.rows) if r.article and dw_share[ds.net_index[i]] >= 0.3
                   and macs[ds.net_index[i]] <= 600e6})
    fam = np.array([r.family for r in ds.rows])
    no_mnv2 = fit.fit_all(ds, PHONES, keep=fam != "mobilenet_v2")
    small = sweep_rows(ds) & (macs[ds.net_index] <= SMALL_MACS)
    no_small = fit.fit_all(ds, PHONES, keep=~small)
    shape, small_out = {}, {}
    for u in UNITS:
        idx = np.flatnonzero(sweep_rows(ds, u))
        lr = np.log(fit.predict_rows(ds, no_mnv2["iphone11"], idx)) - np.log([ds.rows[i].ms for i in idx])
        shape[u] = round(float(np.mean(abs(lr - lr.mean()))) * 100, 1)
        idx = np.flatnonzero(small & sweep_rows(ds, u))
        off = no_small["iphone11"][u].offsets.get(ds.rows[idx[0]].source, 0.0)
        lr = np.log(fit.predict_rows(ds, no_small["iphone11"], idx)) + off - np.log([ds.rows[i].ms for i in idx])
        small_out[u] = {"n": len(idx), "mean_log_pct": round(float(np.mean(lr)) * 100, 1),
                        "mean_abs_log_pct": round(float(np.mean(abs(lr))) * 100, 1)}
    return {"rule_models": rule, "a_rule": scores(cv, rule), "b_first_pass": scores(cv, FIRST_PASS),
            "c_sweep_shape_mean_abs_log_pct": shape, "c_small_out": small_out}


def markdown(res: dict) -> str:
    lines = ["# The cost model on calibration data like the held-out four (2020 regime)", "",
             "Regenerate: `python experiments/article_speed/subsets.py`. Median |error| / mean |log error|, "
             "leave-one-model-out; (c) as described in the script's docstring.", "",
             "| subset | unit | " + " | ".join(res) + " |", "|---|---|" + "---:|" * len(res)]
    first = next(iter(res.values()))
    for key, label in (("a_rule", f"(a) rule: {', '.join(first['rule_models'])}"), ("b_first_pass", "(b) first pass's 7")):
        for u in UNITS:
            lines.append(f"| {label} | {u} | " + " | ".join(
                f"{v[key][u]['median_ape_pct']} / {v[key][u]['mean_abs_log_pct']} % (n = {v[key][u]['n']})"
                for v in res.values()) + " |")
    for u in UNITS:
        lines.append(f"| (c) sweep shape | {u} | " + " | ".join(f"{v['c_sweep_shape_mean_abs_log_pct'][u]} %"
                                                          for v in res.values()) + " |")
    for u in UNITS:
        lines.append(f"| (c) small-out, signed / abs log | {u} | " + " | ".join(
            f"{v['c_small_out'][u]['mean_log_pct']:+} / {v['c_small_out'][u]['mean_abs_log_pct']} % "
            f"(n = {v['c_small_out'][u]['n']})" for v in res.values()) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    rows, _ = load_all(DEFAULT_FILES)
    ds = fit.Dataset(rows)
    macs, dw_share = net_stats(ds)
    res = {}
    old = priors.UNIT_PARAMS
    try:
        for name, unit_params in VARIANTS.items():
            priors.UNIT_PARAMS = unit_params
            model.FALLBACK = "block" if "ane" in unit_params else "layer"   # <= 1.4: per-layer ANE fallback
            res[name] = run_variant(ds, macs, dw_share)
            print(f"{name}: (b) cpu {res[name]['b_first_pass']['cpu']}", flush=True)
    finally:
        priors.UNIT_PARAMS, model.FALLBACK = old, "block"
    write_atomic(HERE / "subsets.json", json.dumps(res, indent=1) + "\n")
    write_atomic(HERE / "subsets.md", markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
