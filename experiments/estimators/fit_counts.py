"""The weights of the count estimators, fitted on NAS-Bench-Macro networks that are NOT in the evaluation sample.

``fmap_depth`` (``nas.search.accuracy.zeroshot``) is ln fmap + w ln depth. ``w`` comes from here: an
ordinary least-squares fit of the benchmark's mean accuracy on (ln fmap, ln depth, 1) over the 5,561
benchmark networks outside ``collect.sample_indices()`` (the 1,000 networks every estimator is scored on),
normalised so that ln fmap has weight 1. So the 1,000-network figure of the table is held out from the
fit, and the zoo figure is transfer (the zoo never enters the fit). The same fit is reported for the
other families tried (ln fmap + ln params, ln fmap + ln params + ln depth), and the reverse direction
(fitted on the zoo, scored on the benchmark sample) as a check of how stable the weights are.

Usage: python experiments/estimators/fit_counts.py   (prints JSON; run.py records it in results.json)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).parent))
import collect  # noqa: E402

from nas.arch.counts import count  # noqa: E402
from nas.spaces import load_benchmark, load_space  # noqa: E402
from nas import zoo  # noqa: E402

FAMILIES = {"fmap_depth": ("fmap", "depth"), "fmap_params": ("fmap", "params"),
            "fmap_params_depth": ("fmap", "params", "depth")}
_FIELD = {"fmap": "fmap", "depth": "weighted", "params": "params"}


def _logs(net, names) -> list[float]:
    c = count(net)
    return [math.log(getattr(c, _FIELD[n])) for n in names]


def _ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    coef = np.linalg.lstsq(np.c_[x, np.ones(len(y))], y, rcond=None)[0][:-1]
    return coef / abs(coef[0])            # ln fmap's weight is 1


def _tau(x: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return round(float(kendalltau(x @ w, y).statistic), 4)


def fit() -> dict:
    space = load_space("nasbench_macro")
    b = load_benchmark(space)
    names = sorted({n for f in FAMILIES.values() for n in f}, key=list(_FIELD).index)
    xb = np.array([_logs(space.decode(c), names) for c in b.choices])
    yb = np.asarray(b.mean_acc, float)
    held = np.zeros(len(b), bool)
    held[collect.sample_indices()] = True
    zoo_models = [zoo.get(n) for n in zoo.names()]
    zoo_models = [m for m in zoo_models if m.article.get("top1")]
    xz = np.array([_logs(m.spec, names) for m in zoo_models])
    yz = np.array([float(m.article["top1"]) for m in zoo_models])
    out = {"fit": "OLS of mean accuracy on the logs, weights normalised to ln fmap = 1",
           "fitted_on": f"NAS-Bench-Macro, the {int((~held).sum())} networks outside the evaluation sample",
           "families": {}}
    for family, comps in FAMILIES.items():
        cols = [names.index(c) for c in comps]
        w = _ols(xb[~held][:, cols], yb[~held])
        wz = _ols(xz[:, cols], yz)
        out["families"][family] = {
            "weights": {c: round(float(v), 4) for c, v in zip(comps, w)},
            "tau_nbmacro_fit_set": _tau(xb[~held][:, cols], w, yb[~held]),
            "tau_nbmacro_held_out_sample": _tau(xb[held][:, cols], w, yb[held]),
            "tau_zoo_transfer": _tau(xz[:, cols], w, yz),
            "reverse": {"weights_fitted_on_zoo": {c: round(float(v), 4) for c, v in zip(comps, wz)},
                        "tau_zoo_in_sample": _tau(xz[:, cols], wz, yz),
                        "tau_nbmacro_sample_transfer": _tau(xb[held][:, cols], wz, yb[held])}}
    return out


if __name__ == "__main__":
    print(json.dumps(fit(), indent=1))
