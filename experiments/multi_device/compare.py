"""Price the picks of run.sh on both iPhone 11 tables and show what one backbone costs.

For each setting (ANE target at the space's median or 25th-percentile ANE latency, GPU at its median;
the figures targets.py wrote to targets.json) reads the summary.json of the multi-unit search and
of the ANE-only and GPU-only searches (written by `nas search`), prices each pick's DSL on the shipped
tables of RUNTIME (default the 2020 regime) with ``price_net`` (the same call as `nas latency`), and writes results.md, picks_*.png
and provenance.json (run.sh's commit and the two tables' sha256) next to this file: every feasible candidate of each run at (ANE ms, GPU ms), the targets, and the picks.

    python experiments/multi_device/compare.py [RUNS] [RUNTIME]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nas.arch.dsl import parse_net
from nas.latency import find_table, price_net
from nas.fsutil import file_sha256
from nas.provenance import write_provenance

HERE = Path(__file__).resolve().parent


def main() -> int:
    runs = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs"
    runtime = sys.argv[2] if len(sys.argv) > 2 else "coreml-neuralnetwork-ios13"
    tg = json.loads((HERE / "targets.json").read_text())
    SETTINGS = {"ane_median": (tg["ane"]["median_ms"], tg["gpu"]["median_ms"], ("multi", "ane_only", "gpu_only")),
                "ane_p25": (tg["ane"]["p25_ms"], tg["gpu"]["median_ms"], ("multi_p25", "ane_only_p25", "gpu_only"))}
    tables = {(d, u): find_table(d, u, runtime) for d, u in (("iphone11", "ane"), ("iphone11", "gpu"))}
    out = []
    for label, (t_ane, t_gpu, names) in SETTINGS.items():
        if all((runs / n / "summary.json").exists() for n in names):
            out += setting(runs, tables, label, t_ane, t_gpu, names)
    out += ["", "Tables: " + "; ".join(f"{d}/{u}: {t.path and Path(t.path).name} (sha256 "
                                        f"{file_sha256(t.path)}; {t.summary()})"
                                        for (d, u), t in tables.items())]
    (HERE / "results.md").write_text("\n".join(out) + "\n")
    # the last step of run.sh: its provenance (the searches and targets.py read these same ANE and GPU tables,
    # and the report (nas report) prices the picks on the phone's CPU table as well
    write_provenance(HERE, HERE / "run.sh", f"bash experiments/multi_device/run.sh  # RUNTIME={runtime}",
                     [*(t.path for t in tables.values()), find_table("iphone11", "cpu", runtime).path])
    print("\n".join(out))
    return 0


def setting(runs, tables, label, t_ane, t_gpu, names) -> list[str]:
    PAIRS = (("iphone11", "ane", t_ane), ("iphone11", "gpu", t_gpu))
    RUNS = names
    rows, picks = [], {}
    for name in RUNS:
        s = json.loads((runs / name / "summary.json").read_text())
        best = s["best"]
        lat = {u: price_net(parse_net(best["arch"]), tables[(d, u)]).total_ms for d, u, _ in PAIRS}
        picks[name] = (lat, best)
        meets = all(lat[u] <= t for _, u, t in PAIRS)
        rows.append(f"| {name} | {best['accuracy']:.4f} | {lat['ane']:.3f} | {lat['gpu']:.3f} | "
                    f"{'yes' if meets else 'no'} |")
    multi, ane_only, gpu_only = (picks[n][1]["accuracy"] for n in RUNS)
    est = json.loads((runs / RUNS[0] / "summary.json").read_text())["accuracy"]
    lines = [f"### ANE <= {t_ane:g} ms and GPU <= {t_gpu:g} ms ({label})", "",
             f"| pick | {est} score | iPhone 11 ANE ms (target {t_ane:g}) | iPhone 11 GPU ms (target {t_gpu:g}) "
             "| meets both |", "|---|---|---|---|---|", *rows, "",
             f"Cost of one backbone for both units, in {est} score: {ane_only - multi:+.4f} against the ANE-only "
             f"pick, {gpu_only - multi:+.4f} against the GPU-only pick (positive: the single-unit pick scores "
             f"higher). ![picks](picks_{label}.png)", ""]
    plot(runs, picks, tables, label, t_ane, t_gpu, RUNS)
    return lines


def plot(runs: Path, picks: dict, tables: dict, label, t_ane, t_gpu, RUNS) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.6), dpi=120)
    colors = dict(zip(RUNS, ("#d62728", "#1f77b4", "#2ca02c")))
    for name in RUNS:
        trials = [json.loads(l) for l in (runs / name / "trials.jsonl").read_text().splitlines()[1:]]
        pts = []
        for t in trials:
            if t["status"] != "OK":
                continue
            net = parse_net(t["arch"])
            pts.append((price_net(net, tables[("iphone11", "ane")]).total_ms,
                        price_net(net, tables[("iphone11", "gpu")]).total_ms))
        ax.scatter(*zip(*pts), s=8, alpha=0.35, c=colors[name], label=f"{name}: feasible candidates")
        lat, best = picks[name]
        ax.scatter([lat["ane"]], [lat["gpu"]], marker="*", s=260, c=colors[name], edgecolors="black", zorder=5,
                   label=f"{name} pick (score {best['accuracy']:.4g})")
    ax.axvline(t_ane, ls="--", c="gray", lw=1)
    ax.axhline(t_gpu, ls="--", c="gray", lw=1)
    ax.set_xlabel("iPhone 11 ANE latency (ms, predicted 2020-regime table)")
    ax.set_ylabel("iPhone 11 GPU latency (ms, predicted 2020-regime table)")
    ax.set_title(f"fbnet, NSGA-II, {len(trials)} candidates each: one backbone for ANE <= {t_ane:g} ms and GPU <= {t_gpu:g} ms",
                 fontsize=8)
    ax.legend(fontsize=6, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(HERE / f"picks_{label}.png")


if __name__ == "__main__":
    sys.exit(main())
