"""How well does each training-free estimator rank real trained accuracy? One command for every figure.

Ground truths (never the estimators themselves):
  (a) NAS-Bench-Macro mean CIFAR-10 accuracy (3 training seeds) on a seeded random sample of 1,000 of
      its 6,561 networks (``collect.py``: numpy default_rng(0).choice(6561, 1000, replace=False));
  (b) the article's ImageNet top-1 of the 36 zoo models that carry one.
Estimators: every component (params, MACs, fmap, depth, naswot, synflow, grad_norm, snip, zico, zen, each at the
network's own input size), every combination of ``nas.search.accuracy.zeroshot.COMBINATIONS``, and the
old ``proxy`` (64x64 z-mean, calibrated on the space's reference sample; the fbnet space's for the zoo).
Figures: Kendall tau, Spearman rho, top-5 % recall, seconds per network; the benchmark's seed-to-seed
tau (noise ceiling). Writes results.json, estimators.png, and nas/search/accuracy/validation.json
(the figures ``nas search`` prints for its estimator). Raw scores are kept in nbmacro.jsonl and
zoo.jsonl (recomputed only where missing; delete them to recompute everything).

Usage: python experiments/estimators/run.py [--scored-only]
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
from scipy.stats import kendalltau, spearmanr

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import collect  # noqa: E402
import fit_capacity  # noqa: E402
import fit_counts  # noqa: E402

from nas.fsutil import write_atomic  # noqa: E402
from nas.provenance import write_provenance  # noqa: E402
from nas.search.accuracy.components import COUNTED, scores  # noqa: E402
from nas.search.accuracy.proxy import PROXIES, Reference, raw_scores  # noqa: E402
from nas.search.accuracy.zeroshot import COMBINATIONS, DEFAULT, ScoreEstimator  # noqa: E402
from nas.search.build import REFERENCE_SEED, REFERENCE_SIZE  # noqa: E402
from nas.spaces import load_benchmark, load_space  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
VALIDATION = ROOT / "nas" / "search" / "accuracy" / "validation.json"
BARS = {"nbmacro": 0.70, "zoo": 0.76}


def metrics(pred, truth) -> dict:
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    k = max(1, math.ceil(0.05 * len(truth)))
    top_true = set(np.argsort(-truth, kind="stable")[:k])
    top_pred = set(np.argsort(-pred, kind="stable")[:k])
    return {"kendall_tau": round(float(kendalltau(pred, truth).statistic), 4),
            "spearman": round(float(spearmanr(pred, truth).statistic), 4),
            "top5_recall": round(len(top_true & top_pred) / k, 4), "top5_k": k, "n": len(truth)}


def proxy_reference(space_name: str) -> Reference:
    """The ``proxy`` estimator's calibration on a space, as ``nas search`` builds it (raw scores kept in
    proxy_reference.jsonl, recomputed where missing)."""
    space = load_space(space_name)
    ref = [space.decode(c) for c in space.sample(np.random.default_rng(REFERENCE_SEED), REFERENCE_SIZE)]
    rows = collect.collect_with(HERE / "proxy_reference.jsonl", [(str(n), n, {}) for n in ref],
                                f"proxy reference ({space_name})", lambda n: raw_scores(n))
    return Reference.fit(rows)


def noise_ceiling() -> dict:
    b = load_benchmark(load_space("nasbench_macro"))
    pairs = {f"{i}-{j}": round(float(kendalltau(b.seed_acc[:, i], b.seed_acc[:, j]).statistic), 4)
             for i, j in itertools.combinations(range(b.seeds), 2)}
    return {"seed_pairs": pairs, "mean": round(float(np.mean(list(pairs.values()))), 4), "n": len(b)}


def evaluate(rows: list[dict], truth_key: str, ref: Reference) -> dict[str, dict]:
    out = {}
    for name in COMBINATIONS:
        est = ScoreEstimator(name)
        have = [r for r in rows if all(c in r for c in est.needs)]   # see collect.FAST
        pred = [est.combine(r) for r in have]
        secs = float(np.mean([sum(r["seconds"][c] for c in est.needs if c not in COUNTED)   # one count serves
                              + max([r["seconds"][c] for c in est.needs if c in COUNTED], default=0.0)  # every
                              for r in have]))                                               # counted component
        out[name] = metrics(pred, [r[truth_key] for r in have]) | {"seconds_per_net": round(secs, 4),
                                                                   "components": sorted(est.needs)}
    sub = [r for r in rows if "p64_naswot" in r]
    pred = [ref.score({k: r[f"p64_{k}"] for k in PROXIES}) for r in sub]
    out["proxy"] = metrics(pred, [r[truth_key] for r in sub]) | {
        "seconds_per_net": round(float(np.mean([r["seconds"]["proxy"] for r in sub])), 4),
        "components": list(PROXIES), "note": "64x64 input, batch 16, z-mean against the space's reference"}
    return out


GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)   # weight of naswot and of ln MACs, relative to ln params (weight 1)


def transfer(bench_rows: list[dict], zoo_rows: list[dict]) -> dict:
    """Weights of ln params + a naswot/batch + c ln MACs picked on one ground truth, scored on the other."""
    data = {"nbmacro": (bench_rows, "mean_acc"), "zoo": (zoo_rows, "top1")}

    def tau(gt, a, c):
        rows, key = data[gt]
        est = ScoreEstimator("naswot_counts")
        est.weights = {"params": 1.0, "naswot": a, "macs": c}
        return float(kendalltau([est.combine(r) for r in rows], [r[key] for r in rows]).statistic)

    table = {(a, c): {gt: tau(gt, a, c) for gt in data} for a in GRID for c in GRID}
    out = {}
    for fit, other in (("nbmacro", "zoo"), ("zoo", "nbmacro")):
        (a, c), t = max(table.items(), key=lambda kv: kv[1][fit])
        out[f"fitted_on_{fit}"] = {"weights": {"params": 1.0, "naswot": a, "macs": c},
                                   f"tau_{fit}_in_sample": round(t[fit], 4),
                                   f"tau_{other}_transfer": round(t[other], 4)}
    out["grid"] = [{"naswot": a, "macs": c, **{gt: round(v, 4) for gt, v in t.items()}} for (a, c), t in table.items()]
    return out


def commit() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "nas"))}


def plot(results: dict, ceiling: float, path: Path) -> None:
    names = list(results["nbmacro"])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for off, (gt, label) in zip((-0.2, 0.2), (("nbmacro", "NAS-Bench-Macro (1,000 nets)"),
                                              ("zoo", "zoo, ImageNet top-1 (36 models)"))):
        ax.bar(x + off, [results[gt][n]["kendall_tau"] for n in names], 0.4, label=label)
    ax.axhline(BARS["nbmacro"], color="C0", ls="--", lw=1, label=f"bar NB-Macro {BARS['nbmacro']}")
    ax.axhline(BARS["zoo"], color="C1", ls="--", lw=1, label=f"bar zoo {BARS['zoo']}")
    ax.axhline(ceiling, color="k", ls=":", lw=1, label=f"seed-to-seed tau {ceiling:.2f} (noise ceiling)")
    ax.set_xticks(x, [n + (" (default)" if n == DEFAULT else "") for n in names], rotation=35, ha="right")
    ax.set_ylabel("Kendall tau vs trained accuracy")
    ax.set_title("Training-free estimators against real accuracy")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(results: dict) -> str:
    lines = ["| estimator | tau NB-Macro | rho NB-Macro | top-5 % recall NB-Macro | tau zoo | rho zoo | "
             "top-5 % recall zoo | s/net NB-Macro | s/net zoo |", "|---|" + "---|" * 8]
    for name in results["nbmacro"]:
        a, z = results["nbmacro"][name], results["zoo"][name]
        label = f"**{name}** (default)" if name == DEFAULT else f"`{name}`"
        if a["n"] != results["nbmacro"]["params"]["n"]:
            label += f" (NB-Macro: {a['n']} nets)"
        lines.append(f"| {label} | {a['kendall_tau']:.3f} | {a['spearman']:.3f} | {a['top5_recall']:.2f} | "
                     f"{z['kendall_tau']:.3f} | {z['spearman']:.3f} | {z['top5_recall']:.2f} | "
                     f"{a['seconds_per_net']:.2f} | {z['seconds_per_net']:.2f} |")
    return "\n".join(lines) + "\n"


def with_counts(rows: dict[str, dict], items) -> dict[str, dict]:
    """Counted components (cheap, no torch) filled in for kept rows scored before a count was added."""
    for arch, net, _ in items:
        row = rows.get(arch)
        if row is not None and any(c not in row for c in COUNTED):
            t: dict[str, float] = {}
            row.update(scores(net, COUNTED, timings=t))
            row["seconds"] = {**row.get("seconds", {}), **t}
    return rows


def main() -> None:
    if "--scored-only" not in sys.argv:   # else analyse the rows already scored, computing nothing
        collect.main()
    b, z = collect.targets()
    have_b = with_counts(collect.read_rows(HERE / "nbmacro_fast.jsonl") | collect.read_rows(HERE / "nbmacro.jsonl"), b)
    have_z = with_counts(collect.read_rows(HERE / "zoo.jsonl"), z)
    bench_rows = [have_b[a] for a, _, _ in b if a in have_b]
    zoo_rows = [have_z[a] for a, _, _ in z if a in have_z]
    # NB-Macro networks at 64x64 cost minutes each here: the proxy's z-scores on the benchmark are taken
    # against the scored sample itself (a seeded random sample of the space, as its 12-net reference is).
    p64 = [{k: r[f"p64_{k}"] for k in PROXIES} for r in bench_rows if "p64_naswot" in r]
    results = {"nbmacro": evaluate(bench_rows, "mean_acc", Reference.fit(p64)),
               "zoo": evaluate(zoo_rows, "top1", proxy_reference("fbnet"))}
    ceiling = noise_ceiling()
    cap_data = fit_capacity.data()
    fit_capacity.write_counts(HERE / "counts.jsonl", cap_data)
    seed_vs_mean = [round(float(kendalltau([r["seed_acc"][s] for r in bench_rows],
                                           [r["mean_acc"] for r in bench_rows]).statistic), 4)
                    for s in range(len(bench_rows[0]["seed_acc"]))]
    out = {"source": commit(), "command": "python experiments/estimators/run.py", "default": DEFAULT,
           "sample": {"nbmacro": f"default_rng({collect.SEED}).choice(6561, {collect.N}, replace=False); "
                                 f"proxy on the first {collect.P64_FIRST}", "zoo": "zoo models with a top1"},
           "noise_ceiling": ceiling | {"seed_vs_mean_on_sample": seed_vs_mean},
           "bars": BARS, "results": results, "transfer": transfer(bench_rows, zoo_rows),
           "count_fits": fit_counts.fit(), "capacity_fits": fit_capacity.fit(cap_data)}
    write_atomic(HERE / "results.json", json.dumps(out, indent=1) + "\n")
    plot(results, ceiling["mean"], HERE / "estimators.png")
    validation = {"source": out["source"], "file": "experiments/estimators/results.json",
                  "estimators": {name: {gt: {k: results[gt][name][k] for k in ("kendall_tau", "spearman", "n")}
                                        for gt in results} for name in results["nbmacro"]}}
    write_atomic(VALIDATION, json.dumps(validation, indent=1) + "\n")
    write_atomic(HERE / "table.md", markdown(results))
    bench_file = load_benchmark(load_space("nasbench_macro")).info.file
    write_provenance(HERE, __file__, out["command"] + (" --scored-only" if "--scored-only" in sys.argv else ""),
                     [bench_file, fit_capacity.CALIBRATION,
                      *(HERE / f for f in ("nbmacro.jsonl", "nbmacro_fast.jsonl", "zoo.jsonl", "proxy_reference.jsonl")
                        if (HERE / f).exists())])
    print(f"noise ceiling (seed-to-seed tau, all {ceiling['n']}): {ceiling['mean']:.3f} {ceiling['seed_pairs']}")
    print(f"{'estimator':18} {'tau NBM':>8} {'rho NBM':>8} {'top5 NBM':>8} {'tau zoo':>8} {'rho zoo':>8} "
          f"{'top5 zoo':>8} {'s/net NBM':>9} {'s/net zoo':>9}")
    for name in results["nbmacro"]:
        a, z = results["nbmacro"][name], results["zoo"][name]
        print(f"{name:18} {a['kendall_tau']:8.3f} {a['spearman']:8.3f} {a['top5_recall']:8.2f} "
              f"{z['kendall_tau']:8.3f} {z['spearman']:8.3f} {z['top5_recall']:8.2f} "
              f"{a['seconds_per_net']:9.3f} {z['seconds_per_net']:9.3f}")
    for k, v in out["transfer"].items():
        if k != "grid":
            print(f"transfer, {k}: {v}")
    for k, v in out["count_fits"]["families"].items():
        print(f"count fit {k}: weights {v['weights']}, tau NBM held out {v['tau_nbmacro_held_out_sample']}, "
              f"zoo transfer {v['tau_zoo_transfer']}")
    cap = out["capacity_fits"]
    print(f"capacity fit: c10 {cap['c10']['c']} (NB-Macro), c1000 {cap['c1000']['c']} (ImageNet calibration set); "
          f"task-aware tau NBM held out {cap['task_aware']['tau_nbmacro_sample']}, zoo transfer "
          f"{cap['task_aware']['tau_zoo']}")


if __name__ == "__main__":
    main()
