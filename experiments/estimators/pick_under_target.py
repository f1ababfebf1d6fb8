"""What a perfect search on each estimator would pick on NAS-Bench-Macro under a latency target that binds.

A Kendall tau says how an estimator ranks a whole sample; a search only keeps its top feasible network. Here
the space is enumerable, so the search can be replaced by its ideal: price all 6,561 networks on one
latency table, keep those within the target (the 25th and 50th latency percentiles of the space, as in
``experiments/search_on_benchmark``), and take the estimator's favourite. The ground truth is the benchmark's
mean trained accuracy: the regret of that pick (points below the best feasible network), its rank among the
feasible networks, and the mean regret of the estimator's top 10 (what a search that lands near the
estimator's optimum gets). Only estimators that cost no forward pass are run on all 6,561 networks (the
torch proxies are scored on the 1,000-network sample only); the benchmark lookup and a uniformly random
feasible pick are the two ends of the scale.

Usage: python experiments/estimators/pick_under_target.py [--table PATH]   (writes pick_under_target.{json,md} and
its entry in provenance.json)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "experiments" / "search_on_benchmark"))
sys.path.insert(0, str(HERE))
from run import commit  # noqa: E402  (experiments/estimators/run.py)

from nas.fsutil import file_sha256, write_atomic  # noqa: E402
from nas.latency import SpacePricer, load_table  # noqa: E402
from nas.provenance import write_provenance  # noqa: E402
from nas.search.accuracy.components import COUNTED  # noqa: E402
from nas.search.accuracy.zeroshot import COMBINATIONS, DEFAULT, ScoreEstimator  # noqa: E402
from nas.spaces import load_benchmark, load_space  # noqa: E402

PERCENTILES = (25, 50)
TOP_K = 10
TABLE = ROOT / "latency_tables" / "iphone11-ane.coreml-mlprogram-ios16.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=str(TABLE))
    args = ap.parse_args()
    space = load_space("nasbench_macro")
    bench = load_benchmark(space)
    choices = bench.choices
    lat = SpacePricer(space, load_table(args.table)).price(choices)
    acc = np.asarray(bench.mean_acc, float)
    counted = [n for n, w in COMBINATIONS.items() if set(w) <= set(COUNTED)]
    nets = [space.decode(c) for c in choices]
    scores = {}
    for name in counted:
        est = ScoreEstimator(name)
        scores[name] = np.array([est.score(n) for n in nets])
    scores["benchmark (oracle)"] = acc
    rows, targets = [], []
    for pct in PERCENTILES:
        target = float(np.percentile(lat, pct))
        ok = np.flatnonzero(lat <= target)
        best = float(acc[ok].max())
        targets.append({"percentile": pct, "target_ms": round(target, 4), "feasible": int(len(ok)),
                        "best_acc": best, "random_pick_mean_regret": round(best - float(acc[ok].mean()), 3)})
        for name, s in scores.items():
            order = ok[np.lexsort((np.arange(len(ok)), -s[ok]))]     # estimator's favourites first, stable
            pick = int(order[0])
            rank = int((acc[ok] > acc[pick]).sum()) + 1
            rows.append({"percentile": pct, "estimator": name, "pick": bench.keys[pick],
                         "pick_acc": float(acc[pick]), "regret": round(best - float(acc[pick]), 3),
                         "rank_of_pick": rank, "top_pct_of_pick": round(100 * rank / len(ok), 2),
                         f"top{TOP_K}_mean_regret": round(best - float(acc[order[:TOP_K]].mean()), 3)})
    table = Path(args.table).resolve()
    out = {"source": commit(), "command": "python experiments/estimators/pick_under_target.py",
           "table": {"path": str(table.relative_to(ROOT)) if table.is_relative_to(ROOT) else str(table),
                     "sha256": file_sha256(table)},
           "targets": targets, "picks": rows}
    write_atomic(HERE / "pick_under_target.json", json.dumps(out, indent=1) + "\n")
    lines = [f"Table `{out['table']['path']}` (sha256 `{out['table']['sha256'][:12]}`), commit "
             f"`{out['source']['commit'][:10]}`{' + uncommitted changes' if out['source']['dirty'] else ''}.", ""]
    for tg in targets:
        lines += [f"Target {tg['target_ms']} ms (p{tg['percentile']} of the space's latency): {tg['feasible']} "
                  f"feasible networks, best {tg['best_acc']:.2f} % (accuracy kind: benchmark, NAS-Bench-Macro's mean "
                  f"CIFAR-10 test accuracy over 3 trainings); a random feasible pick is "
                  f"{tg['random_pick_mean_regret']:.2f} points below it on average.", "",
                  f"| estimator | pick | its benchmark accuracy | regret (points) | its rank among the feasible | "
                  f"mean regret of the estimator's top {TOP_K} |", "|---|---|---:|---:|---:|---:|"]
        for r in rows:
            if r["percentile"] == tg["percentile"]:
                label = f"**{r['estimator']}** (default)" if r["estimator"] == DEFAULT else f"`{r['estimator']}`"
                lines.append(f"| {label} | `{r['pick']}` | {r['pick_acc']:.2f} | {r['regret']:.2f} | "
                             f"{r['rank_of_pick']} (top {r['top_pct_of_pick']} %) | {r[f'top{TOP_K}_mean_regret']:.2f} |")
        lines.append("")
    write_atomic(HERE / "pick_under_target.md", "\n".join(lines))
    write_provenance(HERE, __file__, out["command"] + (f" --table {out['table']['path']}" if args.table != str(TABLE)
                                                       else ""), [table, bench.info.file])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
