"""Stacked bias correction, step 2: scores the four pre-stated variants (scratch README "Stacked bias correction")
by nested leave-one-model-out from the folds cached by ``stack_folds.py``; nothing is refitted here.
Writes ``results/stack/scores.json`` and prints one line per unit and variant.
Usage: python experiments/article_speed/scratch/stack_score.py
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from subsets import FIRST_PASS  # noqa: E402

RULE = ("espnet_v2_2_0", "mixnet_m", "mobilenet_v1", "mobilenet_v2", "shufflenet_v2_1_5")   # as the harnesses
PHONES = ("iphone11", "iphonexs", "iphonex")
S, SD_A = 0.3, 0.2
VARIANTS = {"macs": 0.2, "fixed": 0.5, "layers": 0.2, "const": None}   # sd of the slope b (None: no slope)
C = json.loads((HERE / "results" / "stack" / "folds.json").read_text())
NETS, NET_OF_ROW = C["_nets"], C["_net_of_row"]
FAMS = sorted(k for k in C if not k.startswith("_") and "|" not in k)


def feature(v, r):
    net = NETS[str(NET_OF_ROW[r["i"]])]
    return {"macs": math.log(net["macs"] / 300e6), "fixed": r["fixed"] - 0.3,
            "layers": math.log(net["launches"] / 100), "const": 0.0}[v]


def lr(r, off=0.0):
    return math.log(r["pred"]) + off - math.log(r["ms"])


def ridge(v, rows):
    """(a, b) of the correction fitted on LOMO rows (each model weighted once)."""
    n = {}
    for r in rows:
        n[r["model"]] = n.get(r["model"], 0) + 1
    w = np.array([1.0 / n[r["model"]] for r in rows])
    y = np.array([lr(r) for r in rows])
    X = np.c_[np.ones(len(rows)), [feature(v, r) for r in rows]]
    prec = np.array([1 / SD_A ** 2, 1 / VARIANTS[v] ** 2 if VARIANTS[v] else 1e12])
    A = X.T @ (w[:, None] * X) / S ** 2 + np.diag(prec)
    return np.linalg.solve(A, X.T @ (w * y) / S ** 2)


def corr(v, ab, r):
    return ab[0] + ab[1] * feature(v, r) if v else 0.0


def unit_rows(key, u, fam=None):
    return [r for r in C[key]["rows"] if r["unit"] == u and (fam is None or r["family"] == fam)]


def inner(m, u):
    return [r for g in FAMS if g != m for r in unit_rows("|".join(sorted((g, m))), u, g)]


def stat(lrs):
    lrs = np.asarray(lrs)
    return (round(float(np.median(abs(np.exp(lrs) - 1))) * 100, 1), round(float(np.mean(abs(lrs))) * 100, 1), len(lrs))


def score(u, v):
    cv = []   # (row, base lr, corrected lr, family)
    coef = {}
    for m in FAMS:
        ab = ridge(v, inner(m, u)) if v else (0.0, 0.0)
        coef[m] = [round(float(x), 4) for x in ab]
        for r in unit_rows(m, u):
            cv.append((r, lr(r), lr(r) - corr(v, ab, r), m))
    res = {"all": stat([c[2] for c in cv]),
           "phones": {p: stat([c[2] for c in cv if c[0]["phone"] == p]) for p in PHONES
                      if any(c[0]["phone"] == p for c in cv)},
           "a": stat([c[2] for c in cv if c[0]["model"] in RULE]),
           "b": stat([c[2] for c in cv if c[0]["model"] in FIRST_PASS]),
           "per_model": {}, "coef_nested": coef}
    for c in cv:
        res["per_model"].setdefault(c[0]["model"], {})[c[0]["phone"]] = round((math.exp(c[2]) - 1) * 100)
    sw = [r for r in C["mobilenet_v2"]["sweep"] if r["unit"] == u]
    ab = coef["mobilenet_v2"] if v else (0.0, 0.0)
    sl = np.array([lr(r) - corr(v, ab, r) for r in sw])
    res["shape"] = round(float(np.mean(abs(sl - sl.mean()))) * 100, 1)
    ship = ridge(v, [r for m in FAMS for r in unit_rows(m, u)]) if v else (0.0, 0.0)
    res["coef_ship"] = [round(float(x), 4) for x in ship]
    off = C["_no_small"]["offset"][u]
    so = np.array([lr(r, off) - corr(v, ship, r) for r in unit_rows("_no_small", u)])
    res["small_out"] = (round(float(np.mean(so)) * 100, 1), round(float(np.mean(abs(so))) * 100, 1))
    rng = np.random.default_rng(0)
    d = []
    for _ in range(2000):
        pick = rng.choice(FAMS, len(FAMS))
        sel = [c for f in pick for c in cv if c[3] == f]
        d.append(np.median(abs(np.exp([c[2] for c in sel]) - 1)) - np.median(abs(np.exp([c[1] for c in sel]) - 1)))
    res["boot_dmedian_5_95"] = [round(float(np.percentile(d, q)) * 100, 1) for q in (5, 95)]
    res["rows_better"] = [int(sum(abs(c[2]) < abs(c[1]) for c in cv)), len(cv)]
    return res


def main():
    out = {}
    for u in ("cpu", "gpu", "ane"):
        out[u] = {"base": score(u, None)}
        for v in VARIANTS:
            out[u][v] = score(u, v)
        for v, r in out[u].items():
            print(f"{u} {v:6s} all {r['all'][:2]} phones {[x[:2] for x in r['phones'].values()]} a {r['a'][:2]} "
                  f"b {r['b'][:2]} shape {r['shape']} small-out {r['small_out']} ship (a, b) {r['coef_ship']} "
                  f"boot dmed {r['boot_dmedian_5_95']} better {r['rows_better']}")
    (HERE / "results" / "stack" / "scores.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
