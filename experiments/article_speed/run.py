"""Reproduce the article's speed table from the shipped predicted iPhone tables.

Prices every article model in the zoo (a zoo model with ``article:`` metadata, or one the
calibration file times) on iPhone 11 / XS / X and CPU / GPU / ANE with the tables in
``latency_tables/`` (``nas tables calibrate`` writes them), and writes
``results.md``, ``results.csv``, ``results.json`` and ``predicted_vs_measured.png`` here.
Columns: published (the article, via calibration/coreml_iphone_latency_2020.yaml), predicted
(the tables, fitted on every calibration model), and the leave-one-model-out prediction from
``calibration.json`` (fitted without that model). Rows without a published time are predictions only.

Usage: python experiments/article_speed/run.py
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from nas import zoo  # noqa: E402
from nas.arch.spec import NetSpec  # noqa: E402
from nas.fsutil import write_atomic  # noqa: E402
from nas.latency import price_net  # noqa: E402
from nas.latency.regime import ARTICLE_RUNTIME  # noqa: E402
from nas.latency.table import load_table  # noqa: E402

PHONES = ("iphone11", "iphonexs", "iphonex")
UNITS = ("cpu", "gpu", "ane")
ARTICLE_FILE = ROOT / "calibration" / "coreml_iphone_latency_2020.yaml"


def article_models() -> dict[str, dict]:
    published = yaml.safe_load(ARTICLE_FILE.read_text())["models"]
    names = [n for n in zoo.names() if zoo.get(n).article or n in published]
    return {n: published.get(n, {}) for n in sorted(names)}


def rows() -> list[dict]:
    loo_path = HERE / "calibration.json"
    loo = {}
    if loo_path.exists():
        for r in json.loads(loo_path.read_text()).get("loo", []):
            loo[(r["model"], r["phone"], r["unit"])] = r["predicted_ms"]
    tables = {(p, u): load_table(ROOT / "latency_tables" / f"{p}-{u}.{ARTICLE_RUNTIME}.yaml", runtime=ARTICLE_RUNTIME)
              for p in PHONES for u in UNITS}
    out = []
    for name, pub in article_models().items():
        spec = zoo.get(name).spec
        if pub.get("input") and tuple(spec.input_size) != (pub["input"],) * 2:
            spec = NetSpec(spec.name, (pub["input"],) * 2, spec.stages, spec.in_channels)
        for p in PHONES:
            for i, u in enumerate(UNITS):
                measured = (pub.get(p) or [None] * 3)[i]
                price = price_net(spec, tables[p, u])
                off_ane = sum(l.ms for l in price.layers if u == "ane" and l.unit_used not in (None, "ane"))
                r = {"model": name, "phone": p, "unit": u,
                     "published_ms": None if measured is None else round(measured * 1000, 2),
                     "predicted_ms": round(price.total_ms, 2),
                     "loo_predicted_ms": None if loo.get((name, p, u)) is None else round(loo[name, p, u], 2),
                     "ms_off_ane": round(off_ane, 2) if u == "ane" else None,
                     "note": "G1 fallback: A11 runs .all on CPU+GPU" if (p == "iphonex" and u == "ane") else ""}
                if measured is None:
                    r["note"] = (r["note"] + "; " if r["note"] else "") + "prediction only (no published time)"
                else:
                    r["error_pct"] = round(100 * (price.total_ms / r["published_ms"] - 1), 1)
                    if r["loo_predicted_ms"] is not None:
                        r["loo_error_pct"] = round(100 * (r["loo_predicted_ms"] / r["published_ms"] - 1), 1)
                out.append(r)
    return out


def fmt(v, suffix=""):
    return "" if v is None else f"{v:g}{suffix}"


def write_markdown(data: list[dict]) -> str:
    lines = ["# The article's speed table, reproduced by the predicted iPhone tables", "",
             "ms per prediction. *published* = Hollemans (2020); *predicted* = shipped predicted tables "
             "(fitted on all calibration models); *LOO* = leave-one-model-out prediction (fitted without "
             "that model); *pred. only* = the article has no time for it (held out or not measured). "
             "Regenerate: `nas tables calibrate` then `python experiments/article_speed/run.py`.", ""]
    for p in PHONES:
        lines += [f"## {p}", "", "| model | unit | published | predicted | error | LOO | LOO error | note |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in data:
            if r["phone"] != p:
                continue
            lines.append(f"| {r['model']} | {r['unit']} | {fmt(r['published_ms'])} | {fmt(r['predicted_ms'])} | "
                         f"{fmt(r.get('error_pct'), '%')} | {fmt(r['loo_predicted_ms'])} | "
                         f"{fmt(r.get('loo_error_pct'), '%')} | {r['note']} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(data: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.5))
    colors = {"iphone11": "tab:blue", "iphonexs": "tab:orange", "iphonex": "tab:green"}
    for ax, u in zip(axes, UNITS):
        pts = [r for r in data if r["unit"] == u and r["published_ms"] is not None]
        for p in PHONES:
            sel = [r for r in pts if r["phone"] == p]
            if not sel:
                continue
            ax.scatter([r["published_ms"] for r in sel], [r["predicted_ms"] for r in sel], c=colors[p],
                       label=f"{p} (fitted)", s=22)
            loo = [r for r in sel if r["loo_predicted_ms"]]
            ax.scatter([r["published_ms"] for r in loo], [r["loo_predicted_ms"] for r in loo], c=colors[p],
                       marker="x", s=22, label=f"{p} (leave-one-out)")
            for r in sel:
                ax.annotate(r["model"], (r["published_ms"], r["predicted_ms"]), fontsize=6, alpha=0.8)
        if pts:
            lo = min(min(r["published_ms"], r["predicted_ms"]) for r in pts) * 0.7
            hi = max(max(r["published_ms"], r["predicted_ms"]) for r in pts) * 1.4
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            ax.fill_between([lo, hi], [lo / 1.15, hi / 1.15], [lo * 1.15, hi * 1.15], color="grey", alpha=0.15,
                            label="±15 %")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title({"cpu": "CPU (.cpuOnly)", "gpu": "GPU (.cpuAndGPU)", "ane": "ANE (.all)"}[u])
        ax.set_xlabel("published (ms)")
        ax.set_ylabel("predicted (ms)")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    data = rows()
    write_atomic(HERE / "results.json", json.dumps(data, indent=1) + "\n")
    with open(HERE / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["model", "phone", "unit", "published_ms", "predicted_ms", "error_pct",
                                          "loo_predicted_ms", "loo_error_pct", "ms_off_ane", "note"])
        w.writeheader()
        for r in data:
            w.writerow(r)
    write_atomic(HERE / "results.md", write_markdown(data))
    plot(data, HERE / "predicted_vs_measured.png")
    print(f"wrote {len(data)} rows to {HERE}/results.(md|csv|json) and predicted_vs_measured.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
