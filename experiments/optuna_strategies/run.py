"""NSGA-II and TPE against evolution, rl and random on NAS-Bench-Macro: regret at equal budgets.

Every network of the ``nasbench_macro`` space (3^8 = 6,561) was trained by the benchmark, so the best
network within a latency target is known exactly and a search's *regret* -- that optimum's accuracy
minus the best accuracy the search found within the target -- is exact. Latency is the shipped
iPhone 11 table (predicted); the target is the median latency over the whole space, so the constraint
cuts away half of it. Accuracy is the benchmark's mean CIFAR-10 test accuracy over its 3 training
seeds, looked up by an estimator local to this script (the project's ``--accuracy benchmark`` is
another helper's work). Candidates go through the search's own Evaluator and loop (nas.search.run),
in batches of 8, exactly as `nas search` runs them.

One run of 200 candidates per (strategy, seed); the regret at budgets 25/50/100 is read off the same
run's first trials, which is the run a smaller budget would have made (no strategy knows its budget).

    python experiments/optuna_strategies/run.py --seeds 25     # writes results.json, results.md, regret.png
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nas.latency import SpacePricer, find_table
from nas.latency.regime import ARTICLE_RUNTIME
from nas.fsutil import file_sha256
from nas.provenance import write_provenance
from nas.search.accuracy.base import Estimate
from nas.search.evaluate import Evaluator
from nas.search.run import run
from nas.search.strategies import STRATEGIES, Status, make_strategy
from nas.spaces import load_benchmark, load_space

HERE = Path(__file__).resolve().parent
BUDGETS = (25, 50, 100, 200)
ORDER = ("nsga2", "tpe", "evolution", "rl", "random")


class Lookup:
    """The benchmark's mean accuracy of a network (the estimator protocol of nas.search.accuracy)."""

    kind = "benchmark"

    def __init__(self, bench):
        self.bench = bench

    def estimate(self, net, choices):
        acc = self.bench.accuracy(choices)
        if acc is None:
            raise KeyError(f"{choices} is not in the benchmark")
        return Estimate(acc, self.kind)

    def observe(self, choices, accuracy, kind):
        pass

    def settings(self):
        return {"kind": self.kind}


def one(space, bench, pricer, target, strategy, seed) -> list[float | None]:
    """Best feasible accuracy after each budget."""
    ev = Evaluator(space=space, pricer=pricer, estimator=Lookup(bench), target_ms=target)
    s = make_strategy(strategy, cardinalities=space.cardinalities, seed=seed, target_ms=target)
    trials = run(s, ev, trials=max(BUDGETS), batch_size=8)
    out = []
    for b in BUDGETS:
        ok = [t.result.accuracy for t in trials[:b] if t.result.status is Status.OK]
        out.append(max(ok) if ok else None)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=25)
    ap.add_argument("--device", default="iphone11")
    ap.add_argument("--unit", default="ane")
    ap.add_argument("--runtime", default=ARTICLE_RUNTIME, help="latency regime of the table (default: the 2020 "
                    "regime these figures were first made in)")
    args = ap.parse_args()
    space = load_space("nasbench_macro")
    bench = load_benchmark(space)
    table = find_table(args.device, args.unit, args.runtime)
    pricer = SpacePricer(space, table)
    lat = pricer.price(bench.choices)
    target = float(np.median(lat))
    feasible = lat <= target
    optimum = float(bench.mean_acc[feasible].max())
    results = {"space": space.name, "benchmark": str(bench.info.file.name), "metric": bench.info.metric,
               "table": {"path": str(Path(table.path).relative_to(HERE.parents[1])), "summary": table.summary(),
                         "sha256": file_sha256(table.path)},
               "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                        cwd=HERE).stdout.strip(),
               "target_ms": target, "feasible_fraction": float(feasible.mean()), "optimum": optimum,
               "unconstrained_optimum": float(bench.mean_acc.max()), "budgets": list(BUDGETS),
               "seeds": args.seeds, "runs": {}}
    for name in ORDER:
        assert name in STRATEGIES
        t0 = time.perf_counter()
        results["runs"][name] = [one(space, bench, pricer, target, name, seed) for seed in range(args.seeds)]
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    report(results)
    write_provenance(HERE, __file__, "python experiments/optuna_strategies/run.py " + " ".join(sys.argv[1:]),
                     [table.path, bench.info.file])
    return 0


def regrets(results, name) -> np.ndarray:
    """(seeds, budgets) regret; a run with nothing feasible yet would count as accuracy 0 (none did)."""
    r = [[results["optimum"] - (a if a is not None else 0.0) for a in row] for row in results["runs"][name]]
    return np.array(r)


def report(results) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["| strategy | " + " | ".join(f"regret @ {b}" for b in results["budgets"]) + " | optimum found (of "
             f"{results['seeds']}) @ 200 |", "|---" * (len(results["budgets"]) + 2) + "|"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=120)
    for name in ORDER:
        r = regrets(results, name)
        mean, sem = r.mean(0), r.std(0, ddof=1) / np.sqrt(len(r))
        lines.append(f"| {name} | " + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, sem))
                     + f" | {int((r[:, -1] < 1e-9).sum())} |")
        ax.errorbar(results["budgets"], mean, yerr=sem, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xticks(results["budgets"], [str(b) for b in results["budgets"]])
    ax.set_xlabel("evaluated candidates (budget)")
    ax.set_ylabel("regret (accuracy points, %)")
    ax.set_title(f"NAS-Bench-Macro, {results['table']['summary'].split(',')[0]}, target {results['target_ms']:.3f} ms "
                 f"(median), {results['seeds']} seeds", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "regret.png")
    (HERE / "results.md").write_text("Regret (mean ± standard error over seeds; accuracy points of CIFAR-10 test "
                                     "accuracy, %)\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
