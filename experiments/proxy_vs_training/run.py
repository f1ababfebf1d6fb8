"""How well do the accuracy estimators rank fbnet networks? Kendall tau against short training.

N random fbnet architectures (seeded) are each trained with the ``train`` estimator's recipe
(scikit-learn digits at 32x32, E epochs, the same recipe for all) -- the reference ranking --
and scored by:

* ``proxy``: the training-free ensemble (NASWOT + synflow + grad-norm) at 64x64;
* each raw proxy on its own;
* ``predictor``: ChamNet's GP on the one-hot encoding, leave-one-out (fitted on the other N-1
  trained networks, never on the one it predicts).

Writes results.json (per-architecture rows and tau with p-values), kendall.png and provenance.json.
Usage: python experiments/proxy_vs_training/run.py [--n 24] [--epochs 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
from scipy.stats import kendalltau

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nas.fsutil import write_atomic  # noqa: E402
from nas.provenance import write_provenance  # noqa: E402
from nas.search.accuracy.data import load_digits  # noqa: E402
from nas.search.accuracy.predictor import GaussianProcess, one_hot  # noqa: E402
from nas.search.accuracy.proxy import PROXIES, ProxyEstimator  # noqa: E402
from nas.search.accuracy.train import TrainEstimator  # noqa: E402
from nas.search.build import REFERENCE_SEED, REFERENCE_SIZE  # noqa: E402
from nas.spaces import load_space  # noqa: E402

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    space = load_space("fbnet")
    choices = space.sample(np.random.default_rng(args.seed), args.n)
    nets = [space.decode(c) for c in choices]
    ref = [space.decode(c) for c in space.sample(np.random.default_rng(REFERENCE_SEED), REFERENCE_SIZE)]
    proxy = ProxyEstimator(reference=ref)
    train = TrainEstimator(data=load_digits(32), epochs=args.epochs, seed=0)
    rows, t0 = [], time.time()
    for i, (c, net) in enumerate(zip(choices, nets)):
        raw = proxy.raw(net)
        acc = train.estimate(net, tuple(c)).accuracy
        rows.append({"arch": str(net), "trained_accuracy": acc, "proxy": proxy.estimate(net).accuracy,
                     **{f"raw_{k}": raw[k] for k in PROXIES}})
        print(f"[{i + 1}/{args.n}] acc {acc:.3f} proxy {rows[-1]['proxy']:.3f} ({time.time() - t0:.0f} s)",
              flush=True)
    y = np.array([r["trained_accuracy"] for r in rows])
    x = one_hot(np.array(choices), space.cardinalities)
    for i in range(len(rows)):   # leave-one-out: the GP never sees the network it predicts
        keep = np.arange(len(rows)) != i
        gp = GaussianProcess().fit(x[keep], y[keep])
        rows[i]["predictor_loo"] = float(gp.predict(x[i:i + 1])[0][0])
    taus = {}
    for key in ["proxy", *(f"raw_{k}" for k in PROXIES), "predictor_loo"]:
        tau, p = kendalltau([r[key] for r in rows], y)
        taus[key] = {"kendall_tau": round(float(tau), 3), "p_value": round(float(p), 4)}
    out = {"space": "fbnet", "n": args.n, "seed": args.seed,
           "reference": f"train estimator: sklearn digits at 32x32, {args.epochs} epochs, SGD + cosine, seed 0",
           "tau": taus, "rows": rows, "wall_s": round(time.time() - t0, 1)}
    write_atomic(HERE / "results.json", json.dumps(out, indent=1))
    write_provenance(HERE, __file__, "python experiments/proxy_vs_training/run.py " + " ".join(sys.argv[1:]), [])
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].scatter([r["proxy"] for r in rows], y)
    axes[0].set(xlabel="proxy score", ylabel="trained accuracy (digits)",
                title=f"proxy: tau {taus['proxy']['kendall_tau']}")
    axes[1].scatter([r["predictor_loo"] for r in rows], y)
    axes[1].set(xlabel="GP prediction (leave-one-out)", title=f"predictor: tau {taus['predictor_loo']['kendall_tau']}")
    fig.tight_layout()
    fig.savefig(HERE / "kendall.png", dpi=120)
    print(json.dumps(taus, indent=1))


if __name__ == "__main__":
    main()
