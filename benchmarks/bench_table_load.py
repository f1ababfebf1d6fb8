"""Loading a big latency table: seconds for N entries, libyaml's C loader against the pure-Python one.

    python benchmarks/bench_table_load.py [--entries 100000]

Writes a synthetic measured table of ``--entries`` op keys with ``save_table``
(the format every table uses) to a temporary folder, then times, on the same
file: ``load_table`` as it is now (the fast entry-line reader of
``nas.latency.fastload``, all checks included), ``load_table`` forced onto its
YAML fallback (libyaml's ``CSafeLoader`` when PyYAML has it, collector paused),
and the loader it used before this change (pure-Python ``SafeLoader``), and
prints the three. Issue 14 measured 27 s for 100k entries before the change.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from nas import safeyaml
from nas.latency import fastload, table as table_mod
from nas.latency.table import LatencyTable, Stat, load_table, save_table


def synthetic(n: int) -> LatencyTable:
    entries = {f"ir_k3_s1_e{1 + i % 6}_c{8 + i % 97}@{16 + i // 97}x56x56":
               Stat(0.01 + (i % 1000) / 1e4, 0.009, 0.02, 0.001, 50) for i in range(n)}
    return LatencyTable("iphone11", "ane", "measured", {"hardware": "synthetic", "os": "-", "runtime": "-"},
                        Stat(0.2, n=50), entries)


def timed(path: Path) -> float:
    t0 = time.perf_counter()
    load_table(path)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.yaml"
        save_table(synthetic(args.entries), path)
        now = timed(path)
        fallback_name = safeyaml.StrictLoader.__mro__[1].__name__
        saved_read = fastload.read_entries
        fastload.read_entries = lambda lines: None          # force the YAML fallback
        try:
            fallback = timed(path)
        finally:
            fastload.read_entries = saved_read
        # Before: the pure-Python SafeLoader with the same duplicate-key check, collector on.
        before_loader = type("_PyUniqueKeyLoader", (yaml.SafeLoader,), {})
        before_loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, safeyaml._construct_mapping)
        t0 = time.perf_counter()
        data = yaml.load(path.read_text(), Loader=before_loader)
        table_mod.table_from_dict(data, str(path))
        before = time.perf_counter() - t0
        size = path.stat().st_size / 1e6
    print(f"{args.entries} entries ({size:.1f} MB): load_table {now:.2f} s; its YAML fallback "
          f"({fallback_name}) {fallback:.2f} s; before (SafeLoader) {before:.2f} s -> {before / now:.0f}x faster")

if __name__ == "__main__":
    main()
