"""Print two harness results side by side: per-model LOMO (signed %) and iPhone 11 thetas. Usage: cmp.py A B [unit]"""
import json
import sys
from pathlib import Path
R = Path(__file__).resolve().parent / "results" / "gpu_ane"
a, b = (json.loads((R / f"{n}.json").read_text()) for n in sys.argv[1:3])
for u in sys.argv[3:] or ("gpu", "ane"):
    for m in a[u]["per_model"]:
        print(u, m, a[u]["per_model"][m], "->", b[u]["per_model"][m])
    print(u, "theta", {k: (a[u]["theta_iphone11"][k], b[u]["theta_iphone11"].get(k)) for k in a[u]["theta_iphone11"]},
          {k: v for k, v in b[u]["theta_iphone11"].items() if k not in a[u]["theta_iphone11"]})
