"""Evolution and RL against random search at an equal number of evaluated candidates.

Each strategy runs ``--budget small`` on a space under a latency target for
several seeds with the ``proxy`` estimator (the default when it ran); the best feasible score of
each run is collected, then the mean +- std per strategy goes to
``results.json``, ``results.md`` and ``best_vs_trials.png`` (the best score so
far against the number of evaluated candidates, mean over seeds).

Table: the shipped ``iphone11``/``ane`` table when one exists; ``--synthetic``
builds a deterministic stand-in (latency proportional to MACs plus a per-key
offset) -- the results then say so.

    python experiments/search_vs_random/run.py --space fbnet --target-ms 10 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from nas.fsutil import write_atomic
from nas.provenance import write_provenance
from nas.latency import LatencyTable, Stat, save_table
from nas.latency.store import candidates
from nas.ops.features import block_features
from nas.search.session import BUDGETS, SearchConfig, execute, prepare
from nas.spaces import load_space

HERE = Path(__file__).resolve().parent
STRATEGIES = ("evolution", "rl", "random")


def synthetic_table(space_name: str, path: Path) -> Path:
    space = load_space(space_name)
    layers = {l.key: l for f in space.factors for ls in f.layers for l in ls}
    entries = {k: Stat(0.01 + block_features(l.block, l.in_shape).macs / 2e7 + (zlib.crc32(k.encode()) % 100) / 1000,
                       n=1) for k, l in sorted(layers.items())}
    save_table(LatencyTable("iphone11", "ane", "predicted", {"model": "synthetic MACs/2e7 + per-key offset",
                                                             "model_version": "experiment"}, Stat(0.2), entries), path)
    return path


def best_curve(out: Path, trials: int) -> list[float]:
    best, curve = float("nan"), []
    for line in (out / "trials.jsonl").read_text().splitlines()[1:]:
        t = json.loads(line)
        if t["status"] == "OK":
            best = t["metrics"]["accuracy"] if np.isnan(best) else max(best, t["metrics"]["accuracy"])
        curve.append(best)
    return curve[:trials]


def code_commit() -> str | None:
    """The checkout's commit (``+dirty`` when ``nas/`` has uncommitted changes), for the provenance."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE.parents[1], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return git("rev-parse", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "nas") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="fbnet")
    ap.add_argument("--target-ms", type=float, default=10.0)
    ap.add_argument("--budget", default="small", choices=tuple(BUDGETS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--synthetic", action="store_true", help="use a synthetic MAC-based table")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--work", help="folder of the runs (kept: finished runs are reused, interrupted ones "
                    "resumed); default a new temporary folder")
    ap.add_argument("--runs", help="only these runs, e.g. rl:3,random:4 (to spread runs over processes); "
                    "the aggregate is written only when every run is finished")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="search_vs_random."))
    work.mkdir(parents=True, exist_ok=True)
    only = {tuple(r.split(":")) for r in args.runs.split(",")} if args.runs else None
    shipped = candidates("iphone11", "ane")
    if args.synthetic or not shipped:
        table, table_note = synthetic_table(args.space, work / "iphone11-ane.yaml"), "synthetic (MAC-based stand-in)"
    else:
        table, table_note = shipped[0], str(shipped[0].relative_to(HERE.parents[1]))
    trials = BUDGETS[args.budget]
    runs = {s: [] for s in STRATEGIES}
    for seed in range(args.seeds):
        for strategy in STRATEGIES:
            out = work / f"{strategy}-{seed}"
            if only is not None and (strategy, str(seed)) not in only:
                continue
            cfg = SearchConfig(space=args.space, target_ms=args.target_ms, out=str(out), table=str(table),
                               strategy=strategy, trials=trials, seed=seed, export=False, baselines=False,
                               resume=(out / "trials.jsonl").exists(), accuracy="proxy")
            done = out / "summary.json"
            summary = json.loads(done.read_text()) if done.exists() else execute(prepare(cfg))
            best = summary["best"]
            runs[strategy].append({"seed": seed, "best": best["accuracy"] if best else None,
                                   "latency_ms": best["latency_ms"] if best else None,
                                   "feasible": summary["status_counts"]["OK"], "wall_s": summary["wall_s"],
                                   "table_sha256": summary["table"]["sha256"],
                                   "curve": best_curve(out, trials)})
            print(f"{strategy:9} seed {seed}: best {runs[strategy][-1]['best']}", file=sys.stderr)
    if only is not None:
        return 0
    stats = {}
    for s, rs in runs.items():
        v = np.array([r["best"] if r["best"] is not None else np.nan for r in rs], dtype=float)
        stats[s] = {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v)), "n": len(v),
                    "feasible_mean": float(np.mean([r["feasible"] for r in rs]))}
    shas = sorted({r["table_sha256"] for rs in runs.values() for r in rs})
    result = {"space": args.space, "table_sha256": shas, "target_ms": args.target_ms, "budget": args.budget, "trials": trials,
              "seeds": args.seeds, "table": table_note, "accuracy": "proxy", "code_commit": code_commit(), "stats": stats,
              "runs": {s: [{k: v for k, v in r.items() if k != "curve"} for r in rs] for s, rs in runs.items()}}
    outdir = Path(args.out)
    write_atomic(outdir / "results.json", json.dumps(result, indent=1) + "\n")
    write_provenance(outdir, __file__, "python experiments/search_vs_random/run.py " + " ".join(argv or sys.argv[1:]),
                     [] if args.synthetic or not shipped else [table])
    lines = [f"| strategy | best proxy score (mean ± std over {args.seeds} seeds) | feasible candidates (mean of {trials}) |",
             "|---|---|---|"]
    lines += [f"| {s} | {st['mean']:.4f} ± {st['std']:.4f} | {st['feasible_mean']:.1f} |" for s, st in stats.items()]
    versions = f" ({len(shas)} versions of it: sha256 {', '.join(s[:12] for s in shas)}; see results.json)" \
        if len(shas) > 1 else ""
    write_atomic(outdir / "results.md", f"space {args.space}, target {args.target_ms:g} ms, table {table_note}"
                                        f"{versions}, {trials} candidates per run\n\n" + "\n".join(lines) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import io
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=120)
    for s, rs in runs.items():
        curves = np.array([r["curve"] for r in rs], dtype=float)
        mean = np.nanmean(np.where(np.isnan(curves), np.nan, curves), axis=0)
        ax.plot(np.arange(1, curves.shape[1] + 1), mean, label=f"{s} ({stats[s]['mean']:.3f} ± {stats[s]['std']:.3f})")
    ax.set_xlabel("evaluated candidates")
    ax.set_ylabel("best proxy score so far (mean over seeds)")
    ax.set_title(f"{args.space}, target {args.target_ms:g} ms, table: {table_note}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(outdir / "best_vs_trials.png", buf.getvalue())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
