"""Pricing throughput for a search space: architectures priced per second on one core.

    python benchmarks/bench_pricing.py [--space fbnet] [--table PATH] [--batch 100000 1000000]

Uses ``--table`` if given, else the shipped ``latency_tables/local-ort_cpu.yaml``
when it covers the space, else a synthetic table over the space's ops (prices
do not change the arithmetic). The goal of issue 4: >= 1,000,000 per second.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: numpy/BLAS threads off
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nas.errors import NasError  # noqa: E402
from nas.latency import LatencyTable, SpacePricer, Stat, load_table  # noqa: E402
from nas.latency.store import SHIPPED_DIR  # noqa: E402
from nas.profiling.ops import space_ops  # noqa: E402
from nas.spaces import load_space  # noqa: E402


def table_for(space, path):
    if path:
        return load_table(path, allow_mismatch=True), path
    shipped = SHIPPED_DIR / "local-ort_cpu.yaml"
    if shipped.exists():
        t = load_table(shipped)
        if all(o.key in t for o in space_ops(space)):
            return t, str(shipped)
    rng = np.random.default_rng(0)
    entries = {o.key: Stat(float(rng.uniform(0.01, 2))) for o in space_ops(space)}
    return LatencyTable("bench", "ort_cpu", "measured", {}, Stat(0.1), entries), "synthetic"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="fbnet")
    ap.add_argument("--table")
    ap.add_argument("--batch", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    space = load_space(args.space)
    table, source = table_for(space, args.table)
    t0 = time.perf_counter()
    pricer = SpacePricer(space, table)
    print(f"space {space.name}: {len(space.decisions)} decisions, {space.size():.3e} architectures; "
          f"table {source}; pricer built in {time.perf_counter() - t0:.2f} s")
    rng = np.random.default_rng(0)
    for n in args.batch:
        choices = space.sample(rng, n)
        pricer.price(choices[:10])
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            prices = pricer.price(choices)
            best = min(best, time.perf_counter() - t)
        rate = n / best
        print(f"batch {n:>9,}: {best * 1e3:8.1f} ms, {rate:,.0f} architectures/s "
              f"({'meets' if rate >= 1e6 else 'BELOW'} 1,000,000/s); mean price {prices.mean():.3f} ms")
    # spot check: the vectorized price equals the per-network walk
    from nas.latency import price_net
    c = choices[0]
    one = price_net(space.decode(c), table).total_ms
    if abs(one - float(pricer.price(c))) > 1e-9 * max(1.0, one):
        raise NasError(f"vectorized price {pricer.price(c)} != per-network price {one}")


if __name__ == "__main__":
    main()
