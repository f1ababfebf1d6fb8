"""Choose run.sh's latency targets from the fbnet space's latency distribution on each iPhone 11 table.

The rule (fixed before any search ran): each unit's target is the space's median latency on that unit's
table -- ``SpacePricer.median_ms()``, the figure `nas search` suggests when a target does not bind
(10,000 networks drawn uniformly with seed 0) -- and the tighter ANE target of the second setting is the
25th percentile of the same sample. Each is rounded to 3 significant figures, as the search's hint prints
it. Also records the Pearson correlation of the two units' latencies over the sample. Writes targets.json next to this file and prints the shell assignments run.sh evaluates.

    python experiments/multi_device/targets.py [RUNTIME]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from nas.latency import find_table
from nas.latency.pricing import SpacePricer
from nas.spaces import load_space

HERE = Path(__file__).resolve().parent


def main() -> int:
    runtime = sys.argv[1] if len(sys.argv) > 1 else "coreml-neuralnetwork-ios13"
    space = load_space("fbnet")
    sample = space.sample(np.random.default_rng(0), 10_000)
    out = {"runtime": runtime, "space": "fbnet", "sample": "10000 uniform networks, numpy default_rng(0)"}
    lat = {}
    for unit in ("ane", "gpu"):
        pricer = SpacePricer(space, find_table("iphone11", unit, runtime))
        ms = lat[unit] = pricer.price(sample)
        out[unit] = {"table": Path(pricer.table.path).name, "fastest_ms": round(pricer.fastest_ms(), 3),
                     "slowest_ms": round(pricer.slowest_ms(), 3), "median_ms": float(f"{pricer.median_ms():.3g}"),
                     "p25_ms": float(f"{np.percentile(ms, 25):.3g}")}
    out["pearson_ane_gpu"] = round(float(np.corrcoef(lat["ane"], lat["gpu"])[0, 1]), 3)
    (HERE / "targets.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"ANE_MED={out['ane']['median_ms']:g} ANE_P25={out['ane']['p25_ms']:g} GPU_MED={out['gpu']['median_ms']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
