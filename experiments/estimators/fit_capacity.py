"""The capacity weights of the task-aware estimator ``fmap_depth_task``, each fitted on one data set only.

score = ln fmap + 0.77 ln depth + c(K) ln params, K = the classes the network's head states. The two ends:

* c(10)   -- fitted on NAS-Bench-Macro (CIFAR-10): OLS of the benchmark's mean accuracy on
  (ln fmap + 0.77 ln depth, ln params) over the 5,561 networks outside the 1,000-network evaluation sample
  (the same split as ``fit_counts.py``), c = the ratio of the two coefficients;
* c(1000) -- fitted on ``imagenet_calibration.yaml`` (published ImageNet-1k top-1 of 40 models that are NOT
  among the zoo's 36): the same OLS on their top-1.

Neither fit sees the zoo, so the zoo figure is transfer; the NAS-Bench-Macro sample figure is held out.
Also reported: each weight used task-blind on the other ground truth, every weight refitted on the
calibration set, leave-one-family-out fits, the zoo tau over a grid of c, and a bootstrap of the zoo tau.

Usage: python experiments/estimators/fit_capacity.py   (prints JSON; run.py records it in results.json and
writes the counts it rests on, with each network's ground truth, to counts.jsonl)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).parent))
import collect  # noqa: E402

from nas import zoo  # noqa: E402
from nas.arch import parse_net  # noqa: E402
from nas.arch.counts import count  # noqa: E402
from nas.fsutil import write_atomic  # noqa: E402
from nas.search.accuracy.zeroshot import COMBINATIONS  # noqa: E402
from nas.spaces import load_benchmark, load_space  # noqa: E402

CALIBRATION = Path(__file__).parent / "imagenet_calibration.yaml"
DEPTH = COMBINATIONS["fmap_depth"]["depth"]     # the benchmark-fitted depth weight, as the code holds it


def calibration_models() -> list[dict]:
    """Each calibration entry with its network (``net``), read from the YAML."""
    doc = yaml.safe_load(CALIBRATION.read_text())
    out = []
    for m in doc["models"]:
        net = zoo.get(m["zoo"]).spec if "zoo" in m else parse_net(m["arch"], m["name"])
        out.append(m | {"net": net})
    return out


def _counts(net) -> dict:
    c = count(net)
    return {"fmap": c.fmap, "depth": c.weighted, "params": c.params, "classes": c.outputs}


def _logs(rows: list[dict]) -> np.ndarray:
    return np.array([[math.log(r["fmap"]), math.log(r["depth"]), math.log(r["params"])] for r in rows])


def _ratio(x: np.ndarray, y: np.ndarray) -> float:
    """c of ln params relative to the base score, by OLS of y on (base, ln params, 1)."""
    base = x[:, 0] + DEPTH * x[:, 1]
    coef = np.linalg.lstsq(np.c_[base, x[:, 2], np.ones(len(y))], y, rcond=None)[0]
    return float(coef[1] / coef[0])


def _score(x: np.ndarray, c: float) -> np.ndarray:
    return x[:, 0] + DEPTH * x[:, 1] + c * x[:, 2]


def _tau(pred, y) -> float:
    return round(float(kendalltau(pred, y).statistic), 4)


def data() -> dict:
    space = load_space("nasbench_macro")
    b = load_benchmark(space)
    held = np.zeros(len(b), bool)
    held[collect.sample_indices()] = True
    cal = calibration_models()
    zm = [zoo.get(n) for n in zoo.names()]
    zm = [m for m in zm if m.article.get("top1")]
    cb = [_counts(space.decode(c)) for c in b.choices]
    cc = [_counts(m["net"]) for m in cal]
    cz = [_counts(m.spec) for m in zm]
    rows = ([{"set": "nbmacro", "id": b.keys[i], **cb[i], "truth": float(b.mean_acc[i])} for i in collect.sample_indices()]
            + [{"set": "zoo", "id": m.name, **c, "truth": float(m.article["top1"])} for m, c in zip(zm, cz)]
            + [{"set": "calibration", "id": m["name"], **c, "truth": float(m["top1"])} for m, c in zip(cal, cc)])
    return {"xb": _logs(cb), "yb": np.asarray(b.mean_acc, float), "held": held, "xc": _logs(cc),
            "yc": np.array([m["top1"] for m in cal]), "fam": [m["family"] for m in cal], "xz": _logs(cz),
            "yz": np.array([float(m.article["top1"]) for m in zm]), "n_cal": len(cal), "rows": rows}


def write_counts(path: Path, d: dict) -> None:
    """The counts every figure here rests on, one JSON line per network (the 1,000-network NAS-Bench-Macro
    sample, the zoo's 36, the calibration set), with its ground truth: tests score estimators from this file."""
    write_atomic(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in d["rows"]))


def fit(d: dict | None = None) -> dict:
    d = d or data()
    xb, yb, held, xc, yc, xz, yz = d["xb"], d["yb"], d["held"], d["xc"], d["yc"], d["xz"], d["yz"]
    c10 = _ratio(xb[~held], yb[~held])
    c1000 = _ratio(xc, yc)

    def figures(c):
        return {"c": round(c, 4), "tau_calibration": _tau(_score(xc, c), yc), "tau_zoo": _tau(_score(xz, c), yz),
                "tau_nbmacro_sample": _tau(_score(xb[held], c), yb[held])}

    full = np.linalg.lstsq(np.c_[xc, np.ones(len(yc))], yc, rcond=None)[0][:-1]
    full = full / abs(full[0])
    lofo = {}
    for fam in sorted(set(d["fam"])):
        keep = np.array([f != fam for f in d["fam"]])
        c = _ratio(xc[keep], yc[keep])
        lofo[fam] = {"left_out": int((~keep).sum()), "c": round(c, 4), "tau_zoo": _tau(_score(xz, c), yz)}
    rng = np.random.default_rng(0)
    boot, diff = [], []
    for _ in range(2000):        # resample the 36 models; the same draw scores the task-aware weight and params
        i = rng.integers(0, len(yz), len(yz))
        t = kendalltau(_score(xz[i], c1000), yz[i]).statistic
        boot.append(t)
        diff.append(t - kendalltau(xz[i, 2], yz[i]).statistic)
    boot, diff = np.asarray(boot), np.asarray(diff)
    n = len(yz)
    return {
        "score": "ln fmap + %.2f ln depth + c ln params; c by OLS of accuracy on (base, ln params, 1)" % DEPTH,
        "c10": {"fitted_on": f"NAS-Bench-Macro, the {int((~held).sum())} networks outside the evaluation sample",
                **figures(c10)},
        "c1000": {"fitted_on": f"imagenet_calibration.yaml, {d['n_cal']} models disjoint from the zoo's 36",
                  **figures(c1000)},
        "task_aware": {"tau_nbmacro_sample": figures(c10)["tau_nbmacro_sample"], "tau_zoo": figures(c1000)["tau_zoo"],
                       "note": "every NAS-Bench-Macro network has 10 classes (c10), every zoo model 1000 (c1000)"},
        "all_weights_refit_on_calibration": {
            "weights": {k: round(float(v), 4) for k, v in zip(("fmap", "depth", "params"), full)},
            "tau_calibration": _tau(xc @ full, yc), "tau_zoo": _tau(xz @ full, yz),
            "tau_nbmacro_sample": _tau(xb[held] @ full, yb[held])},
        "leave_one_family_out": lofo,
        "zoo_tau_by_c": {f"{c:.2f}": _tau(_score(xz, c), yz) for c in np.arange(0, 3.01, 0.25)},
        "zoo_tau_bootstrap": {"reps": 2000, "seed": 0, "se": round(float(boot.std(ddof=1)), 4),
                              "p05": round(float(np.quantile(boot, 0.05)), 4),
                              "p95": round(float(np.quantile(boot, 0.95)), 4),
                              "se_if_independent": round(math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))), 4),
                              "minus_params": {"mean": round(float(diff.mean()), 4),
                                               "p05": round(float(np.quantile(diff, 0.05)), 4),
                                               "p95": round(float(np.quantile(diff, 0.95)), 4)}},
    }


if __name__ == "__main__":
    print(json.dumps(fit(), indent=1))
