"""Search throughput and memory (printed figures, not a test).

1. Proposals + pricing per second for each strategy on the fbnet space: ask a
   batch, price it with the vectorized table pricer, tell synthetic results --
   everything of a search except the accuracy estimate.
2. Tabular search speed: the whole loop of ``nas search --space nasbench_macro
   --accuracy benchmark`` (``nas.search.session.search``: ask/tell, pricing,
   decode, benchmark lookup, trial log with its fsyncs) in candidates/s for
   each strategy, on the shipped iPhone 11 ANE table at the space's median
   latency. The issue asks >= 1,000 candidates/s.
3. Peak memory of a default ``nas search`` (proxy estimator, ``--budget``
   medium unless ``--trials``): resource.getrusage max RSS of a child process.

    python benchmarks/bench_search.py [--table PATH] [--trials N] [--tabular-trials N] [--tabular-only]

Without ``--table``, a synthetic MAC-based table for fbnet is generated.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from nas.latency import LatencyTable, SpacePricer, Stat, load_table, save_table
from nas.ops.features import block_features
from nas.search import session
from nas.search.session import SearchConfig, prepare, search
from nas.search.strategies import STRATEGIES, Result, Status, make_strategy
from nas.spaces import load_space

ROOT = Path(__file__).resolve().parents[1]


def synthetic(space, path: Path) -> Path:
    layers = {l.key: l for f in space.factors for ls in f.layers for l in ls}
    entries = {k: Stat(0.01 + block_features(l.block, l.in_shape).macs / 2e7 + (zlib.crc32(k.encode()) % 100) / 1000)
               for k, l in sorted(layers.items())}
    save_table(LatencyTable("iphone11", "ane", "predicted", {"model": "synthetic"}, Stat(0.2), entries), path)
    return path


def throughput(space, pricer, name: str, target: float, seconds: float = 2.0, batch: int = 64) -> float:
    s = make_strategy(name, cardinalities=space.cardinalities, seed=0, target_ms=target)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        proposals = s.ask(batch)
        lat = pricer.price(np.array(proposals))
        s.tell([Result(c, Status.OK if l <= target else Status.INFEASIBLE,
                       {"latency_ms": float(l)} | ({"accuracy": float(-l)} if l <= target else {}))
                for c, l in zip(proposals, lat)])
        n += len(proposals)
    return n / (time.perf_counter() - t0)


def tabular(strategy: str, trials: int, work: Path, target_ms: float | None = None) -> tuple[float, float]:
    """Candidates/s of one ``--accuracy benchmark`` search loop (the library path of ``nas search``), and the
    seconds ``prepare`` took."""
    if target_ms is None:
        prep = prepare(SearchConfig(space="nasbench_macro", target_ms=1e5, out=str(work), accuracy="benchmark"))
        target_ms = prep.pricer.median_ms()
    cfg = SearchConfig(space="nasbench_macro", target_ms=target_ms, out=str(work / f"tab-{strategy}"),
                       accuracy="benchmark", strategy=strategy, trials=trials, export=False, baselines=False)
    t0 = time.perf_counter()
    prep = prepare(cfg)
    t1 = time.perf_counter()
    found, _, _ = search(prep)
    assert len(found) == trials
    return trials / (time.perf_counter() - t1), t1 - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="fbnet")
    ap.add_argument("--table")
    ap.add_argument("--target-ms", type=float, default=8.0)
    ap.add_argument("--trials", type=int, help="trials of the memory run (default: the medium budget)")
    ap.add_argument("--tabular-trials", type=int, default=5000, help="candidates per tabular search (default 5000)")
    ap.add_argument("--tabular-only", action="store_true", help="only the tabular search speed (part 2)")
    ap.add_argument("--fsync-every-trial", action="store_true",
                    help="tabular search with the per-trial fsync of training searches (for comparison)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_search."))
    if args.fsync_every_trial:
        session.LOOKUP_SYNC_S = 0.0
    print(f"tabular search (nasbench_macro, --accuracy benchmark, iphone11/ane, median-latency target, "
          f"{args.tabular_trials} candidates, batch 8, trial-log fsync "
          f"{'every trial' if args.fsync_every_trial else f'every {session.LOOKUP_SYNC_S:g} s'}):")
    for name in STRATEGIES:
        rate, setup = tabular(name, args.tabular_trials, work)
        print(f"  {name:9} {rate:,.0f} candidates/s (whole loop incl. trial log; prepare {setup:.2f} s)")
    if args.tabular_only:
        return 0
    space = load_space(args.space)
    table_path = Path(args.table) if args.table else synthetic(space, work / "iphone11-ane.yaml")
    table = load_table(table_path)
    pricer = SpacePricer(space, table)
    print(f"space {space.name} ({len(space.decisions)} decisions), table {table.summary()}")
    c = space.sample(np.random.default_rng(0), 100_000)
    t0 = time.perf_counter()
    pricer.price(c)
    print(f"vectorized pricing alone: {len(c) / (time.perf_counter() - t0):,.0f} architectures/s")
    for name in ("random", "evolution", "rl"):
        print(f"{name:9} ask + price + tell: {throughput(space, pricer, name, args.target_ms):,.0f} proposals/s")
    cmd = [sys.executable, "-m", "nas", "search", "--space", args.space, "--target-ms", str(args.target_ms),
           "--table", str(table_path), "--allow-other-device", "--out", str(work / "out"), "--no-export"]
    if args.trials:
        cmd += ["--trials", str(args.trials)]
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"default search ({' '.join(cmd[3:])}): exit {rc} (1 = nothing within the target), "
          f"{time.perf_counter() - t0:.0f} s wall, peak RSS {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
