"""How much the CPU LOMO median moves with the choice of models: a bootstrap over the 13 article models.

Reads ``results/*.json`` (written by ``cpu_harness.py``; per-model signed errors rounded to 1 %), resamples the
models with replacement (2000 draws, seed 0), and prints base's median's 5-95 % range and, per variant, the 5-95 %
range of (variant median - base median) on the same draws and how many of the 37 rows got a smaller |log error|.
``bootstrap.py gpu`` / ``bootstrap.py ane``: the same for the GPU / ANE from ``results/gpu_ane/*.json``
(``gpu_ane_harness.py``).
Usage: python experiments/article_speed/scratch/bootstrap.py [cpu|gpu|ane]
"""
import glob
import json
import math
import random
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHONES = ("iphone11", "iphonexs", "iphonex")


UNIT = sys.argv[1] if len(sys.argv) > 1 else "cpu"


def rows(d):
    pm = d["per_model"] if UNIT == "cpu" else d[UNIT]["per_model"]
    return {(m, p): v for m, pv in pm.items() for p, v in pv.items()}


def median(r, models):
    return statistics.median(abs(r[(m, p)]) for m in models for p in PHONES if (m, p) in r)


def main():
    res = {}
    for f in sorted(glob.glob(str(HERE / "results" / ("" if UNIT == "cpu" else "gpu_ane") / "*.json"))):
        d = json.loads(Path(f).read_text())
        if "name" not in d:   # the CPU fold cache
            continue
        res[d["name"]] = rows(d)
    base = res.pop("base")
    models = sorted({m for m, _ in base})
    rng = random.Random(0)
    draws = [[rng.choice(models) for _ in models] for _ in range(2000)]
    b = sorted(median(base, ms) for ms in draws)
    print(f"base {UNIT.upper()} LOMO median, 5-95 % over model resamples: {b[100]:.1f} - {b[1900]:.1f} %")
    for name, r in sorted(res.items()):
        d = sorted(median(r, ms) - median(base, ms) for ms in draws)
        better = sum(abs(math.log(1 + r[k] / 100)) < abs(math.log(1 + base[k] / 100)) for k in base)
        if all(r[k] == base[k] for k in base):   # a variant of the other unit
            continue
        print(f"{name:24s} change of the median, 5-95 %: [{d[100]:+.1f}, {d[1900]:+.1f}] pt; "
              f"rows better {better}/{len(base)}")


if __name__ == "__main__":
    main()
