"""Search strategies scored against real trained accuracy: NAS-Bench-Macro under binding latency targets.

Each strategy of ``STRATEGIES`` runs ``nas search --space nasbench_macro
--accuracy benchmark`` -- through the library path of the CLI
(``nas.search.session.prepare`` and ``search``: the shipped strategies,
evaluator, pricer and trial log) -- for every target, budget and seed.
Latency comes from one table (default: the shipped iPhone 11 ANE predicted
table). The targets are latency percentiles of the whole space (all 6,561
networks priced with ``SpacePricer``), so they bind. Because the space is
enumerable, the best feasible network is known exactly; a run's regret is its
best feasible network's benchmark accuracy subtracted from that optimum (mean
over 3 training seeds, in CIFAR-10 percentage points).

Outputs (``--out``, default this folder): ``results.json`` (every run and the
aggregates), ``results.md``, ``regret_vs_budget.png`` and ``provenance.json`` (commit, table and
benchmark sha256: ``nas.provenance``).

    python experiments/search_on_benchmark/run.py            # 100 seeds per cell, ~4 min here

Adding a strategy: register it in ``nas.search.strategies.STRATEGIES`` and add
its name to ``STRATEGIES`` below (e.g. "tpe", "nsga2").
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STRATEGIES = ["evolution", "rl", "random", "tpe", "nsga2"]   # one entry per strategy compared
PERCENTILES = [25, 50]                           # latency targets: these percentiles of the space
BUDGETS = [25, 50, 100, 200]                     # --trials: evaluated candidates per run
TOP_SHARE = 0.01                                 # "top 1 %": of the feasible networks at that target
CI_RESAMPLES, CI_SEED = 10_000, 0


def enumerate_space(space, pricer, bench):
    """Every network of the space: choices, latency, benchmark mean accuracy (benchmark order)."""
    choices = np.array(list(itertools.product(*(range(int(c)) for c in space.cardinalities))), dtype=np.int64)
    rows = [bench.index(c) for c in choices]
    if any(r is None for r in rows):
        raise SystemExit("the benchmark does not hold every network of the space")
    return choices, pricer.price(choices), bench.mean_acc[rows], bench.seed_acc[rows].std(axis=1, ddof=1)


def bootstrap_ci(x: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the mean."""
    means = x[rng.integers(0, len(x), (CI_RESAMPLES, len(x)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def one_run(base, strategy: str, budget: int, seed: int, work: Path):
    from nas.search import report
    from nas.search.session import search
    out = work / f"{strategy}-{base.config.target_ms:.6f}-{budget}-{seed}"
    prep = replace(base, config=replace(base.config, strategy=strategy, trials=budget, seed=seed, out=str(out)))
    trials, _, _ = search(prep)
    best = report.best_trial(trials)
    scored = len({t.arch for t in trials if t.result.status.value == "OK"})
    return best, scored


def plot(aggs: list[dict], targets: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 4.2), dpi=120, sharey=True)
    for ax, tg in zip(np.atleast_1d(axes), targets):
        for k, strategy in enumerate(STRATEGIES):
            rows = [a for a in aggs if a["strategy"] == strategy and a["percentile"] == tg["percentile"]]
            x = [a["budget"] for a in rows]
            ax.plot(x, [a["regret_mean"] for a in rows], "-o", ms=4, c=f"C{k}", label=strategy)
            ax.fill_between(x, [a["regret_ci95"][0] for a in rows], [a["regret_ci95"][1] for a in rows],
                            color=f"C{k}", alpha=0.15)
        ax.axhline(tg["seed_std_top1"], ls=":", c="gray", lw=1,
                   label=f"seed-to-seed std of the top 1 % ({tg['seed_std_top1']:.2f})")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(BUDGETS, [str(b) for b in BUDGETS])
        ax.set_xlabel("budget (evaluated candidates, --trials)")
        ax.set_title(f"target {tg['target_ms']:.3f} ms (p{tg['percentile']}); {tg['feasible']} feasible, "
                     f"best {tg['best_acc']:.2f} %", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("regret (pp of CIFAR-10 accuracy), mean and 95 % CI")
    fig.suptitle("NAS-Bench-Macro, iPhone 11 ANE predicted table: regret of the pick vs budget", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(res: dict) -> str:
    lines = [f"# search_on_benchmark results\n", f"commit `{res['commit']}`, table `{res['table']['path']}` "
             f"sha256 `{res['table']['sha256']}`, {res['seeds']} seeds per cell, {res['wall_s']:.0f} s wall.\n"]
    for tg in res["targets"]:
        lines += [f"\n## target {tg['target_ms']:.4f} ms (p{tg['percentile']} of the space's latency)\n",
                  f"{tg['feasible']} of 6561 networks feasible; best feasible `{tg['best_key']}` at "
                  f"{tg['best_acc']:.3f} %; top 1 % = the {tg['top_count']} best feasible (>= "
                  f"{tg['top_threshold']:.3f} %).\n",
                  "| strategy | budget | mean regret (pp) | 95 % CI | median | top-1 % share | no feasible | "
                  "distinct feasible scored |", "|---|---:|---:|---|---:|---:|---:|---:|"]
        for a in res["aggregates"]:
            if a["percentile"] == tg["percentile"]:
                lines.append(f"| {a['strategy']} | {a['budget']} | {a['regret_mean']:.3f} | "
                             f"[{a['regret_ci95'][0]:.3f}, {a['regret_ci95'][1]:.3f}] | {a['regret_median']:.3f} | "
                             f"{a['top_share']:.0%} | {a['no_feasible']} | {a['scored_mean']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default=str(ROOT / "latency_tables" / "iphone11-ane.coreml-neuralnetwork-ios13.yaml"))
    ap.add_argument("--seeds", type=int, default=100, help="seeds per strategy, target and budget (default 100)")
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from tqdm import tqdm

    from nas.fsutil import file_sha256
    from nas.provenance import write_provenance
    from nas.search.session import SearchConfig, prepare
    from nas.spaces import load_benchmark
    t0 = time.perf_counter()
    probe = prepare(SearchConfig(space="nasbench_macro", target_ms=1e5, out="unused", table=args.table,
                                 accuracy="benchmark"))
    bench = load_benchmark(probe.space)
    choices, lat, acc, std = enumerate_space(probe.space, probe.pricer, bench)
    targets, bases = [], {}
    for pct in PERCENTILES:
        t = float(np.percentile(lat, pct))
        ok = np.flatnonzero(lat <= t)
        order = ok[np.argsort(-acc[ok], kind="stable")]
        top = order[:max(1, int(np.ceil(TOP_SHARE * len(ok))))]
        targets.append({"percentile": pct, "target_ms": t, "feasible": int(len(ok)),
                        "best_key": bench.keys[bench.index(choices[order[0]])], "best_acc": float(acc[order[0]]),
                        "top_count": int(len(top)), "top_threshold": float(acc[top[-1]]),
                        "seed_std_top1": float(std[top].mean())})
        for strategy in STRATEGIES:   # prepare per (strategy, target): the CLI's checks; runs vary seed/trials/out
            bases[strategy, pct] = prepare(SearchConfig(
                space="nasbench_macro", target_ms=t, out="unused", table=args.table, accuracy="benchmark",
                strategy=strategy, export=False, baselines=False))
    runs, rng = [], np.random.default_rng(CI_SEED)
    cells = [(s, tg, b) for tg in targets for s in STRATEGIES for b in BUDGETS]
    with tempfile.TemporaryDirectory(prefix="search_on_benchmark.") as work, \
            tqdm(total=len(cells) * args.seeds, unit="run", file=sys.stderr) as bar:
        for strategy, tg, budget in cells:
            for seed in range(args.seeds):
                best, scored = one_run(bases[strategy, tg["percentile"]], strategy, budget, seed, Path(work))
                pick = None if best is None else best.result.accuracy
                runs.append({"strategy": strategy, "percentile": tg["percentile"], "budget": budget, "seed": seed,
                             "pick": None if best is None else "".join(map(str, best.result.choices)),
                             "pick_acc": pick, "pick_latency_ms": None if best is None else best.result.latency_ms,
                             "regret": None if pick is None else tg["best_acc"] - pick,
                             "top1": pick is not None and pick >= tg["top_threshold"], "scored": scored})
                bar.update(1)
    aggs = []
    for strategy, tg, budget in cells:
        rs = [r for r in runs if (r["strategy"], r["percentile"], r["budget"]) == (strategy, tg["percentile"], budget)]
        reg = np.array([r["regret"] for r in rs if r["regret"] is not None])
        aggs.append({"strategy": strategy, "percentile": tg["percentile"], "budget": budget, "runs": len(rs),
                     "regret_mean": float(reg.mean()), "regret_ci95": bootstrap_ci(reg, rng),
                     "regret_median": float(np.median(reg)), "top_share": float(np.mean([r["top1"] for r in rs])),
                     "no_feasible": sum(r["regret"] is None for r in rs),
                     "scored_mean": float(np.mean([r["scored"] for r in rs]))})
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    res = {"command": "python experiments/search_on_benchmark/run.py " + " ".join(argv or sys.argv[1:]),
           "commit": commit, "table": {"path": str(Path(args.table).resolve().relative_to(ROOT)),
                                       "sha256": file_sha256(args.table),
                                       "summary": probe.table.summary()},
           "strategies": STRATEGIES, "budgets": BUDGETS, "seeds": args.seeds, "top_share": TOP_SHARE,
           "ci": f"95 % percentile bootstrap of the mean, {CI_RESAMPLES} resamples, seed {CI_SEED}",
           "targets": targets, "aggregates": aggs, "runs": runs, "wall_s": time.perf_counter() - t0}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "results.md").write_text(markdown(res))
    plot(aggs, targets, out / "regret_vs_budget.png")
    write_provenance(out, __file__, res["command"], [args.table, bench.info.file])
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
