"""Today's regime (Core ML ML programs, iOS 16+): fit, cross-validate, write the predicted tables, report.

One command regenerates everything here and the ``*.coreml-mlprogram-ios16.yaml``
tables in ``latency_tables/``::

    python experiments/today_speed/run.py

Writes ``calibration.json`` (the fit report: every row, the excluded rows with
reasons, every cross-validation prediction), ``results.md`` (the figures),
``cv.csv`` and ``cv_predicted_vs_measured.png``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from nas import zoo  # noqa: E402
from nas.fsutil import file_sha256, write_atomic  # noqa: E402
from nas.latency import price_net  # noqa: E402
from nas.latency.costmodel.calibrate import table_name  # noqa: E402
from nas.latency.costmodel.today_calibrate import TODAY_PHONES, calibrate_today, format_today  # noqa: E402
from nas.latency.costmodel.today_data import DOCS_FILE  # noqa: E402
from nas.latency.regime import DEFAULT_RUNTIME  # noqa: E402
from nas.latency.store import find_table  # noqa: E402
from nas.latency.table import load_table  # noqa: E402

SHOW = ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_lite0",
        "fbnet_c", "ghostnet_1_0", "mobileone_s0", "mobileone_s4", "shufflenet_v2_1_0", "resnet_18", "resnet_50",
        "mobilenet_v4_conv_s", "mobilenet_v4_conv_m")
CHIPS = ("A14", "A15", "A16", "A17_Pro")


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "unknown"


def _cv_table(report) -> list[str]:
    md = ["| cross-validation | overall | " + " | ".join(CHIPS) + " | per phone |",
          "|---|---|" + "---|" * len(CHIPS) + "---|"]
    for kind, v in report["cv_summary"].items():
        per_chip = {c: v["per_chip"].get(c) or {} for c in CHIPS}
        chips = [f"{x.get('median_ape_pct', '–')} % (n={x.get('n', 0)})" for x in per_chip.values()]
        per = "; ".join(f"{d} {x['median_ape_pct']} % (n={x['n']})" for d, x in v["per_device"].items())
        md.append(f"| leave one {kind} out | {v['overall']['median_ape_pct']} % (n={v['overall']['n']}) | "
                  + " | ".join(chips) + f" | {per} |")
    return md


def _reference_protocol_lopo(report) -> dict:
    import statistics
    ref = report["calibration"]["reference_level_sources"]
    sel = [r for r in report["cv"] if r["cv"] == "phone" and r["source"] in ref]
    ape = lambda rows: round(statistics.median(abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100  # noqa: E731
                                               for r in rows), 1)
    devices = sorted({r["device"] for r in sel})
    return {"overall": ape(sel), "n": len(sel),
            "per_device": {d: (ape([r for r in sel if r["device"] == d]), sum(r["device"] == d for r in sel))
                           for d in devices}}


def _sha(path) -> str:
    return file_sha256(path)[:12]


def _docs_rows(model: str) -> list[dict]:
    import yaml
    from nas.latency.costmodel.today_data import _device
    data = yaml.safe_load(DOCS_FILE.read_text())
    return [{"model": model, "device": _device(s["device"], str(DOCS_FILE), "device")[0], "ms": r["all_ms"]}
            for s in data["sources"] if s["id"].startswith("coremltools_docs")
            for r in s["rows"] if r["model"] == model and r.get("variant") == "float16"]


# Calibration rows name a few models by their width builder, not by the zoo name.
ROW_ALIAS = {"mobilenet_v2": "mobilenet_v2_1_224", "mobilenet_v2_1_4": "mobilenet_v2_1.4_224"}


def _zoo_check(tables) -> list[str]:
    """Every zoo model on the iPhone 15 Pro (iOS 17+ tables) and iPhone 13, the published timings beside."""
    from statistics import median

    from nas.arch.counts import count
    from nas.latency.costmodel.today_data import load_today
    rows, _, tests = load_today()
    pub: dict[tuple[str, str], list] = {}
    for r in rows + tests:
        pub.setdefault((r.model, r.device), []).append(r.ms)
    for r in _docs_rows("mobilenet_v3_small"):
        pub.setdefault(("mobilenet_v3_small", r["device"]), []).append(r["ms"])
    fmt = lambda v: "/".join(f"{x:g}" for x in sorted(v)) if v else "–"  # noqa: E731
    md = ["| model | MMAC | iPhone 15 Pro predicted | published 14 Pro / 15 Pro (iOS 17) | iPhone 13 predicted | "
          "published iPhone 13 | off the ANE | GMAC per ms (15 Pro) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in zoo.names():
        spec = zoo.get(name).spec
        key = ROW_ALIAS.get(name, name)
        p15, p13 = price_net(spec, tables["iphone15pro", "ane"]), price_net(spec, tables["iphone13", "ane"])
        off = sum(l.ms for l in p15.layers if l.unit_used not in (None, "ane")) / p15.total_ms
        macs = count(spec).macs
        new = pub.get((key, "iphone14pro"), []) + pub.get((key, "iphone15pro"), [])
        md.append(f"| {name} | {macs / 1e6:.0f} | {p15.total_ms:.2f} | {fmt(new)} | {p13.total_ms:.2f} | "
                  f"{fmt(pub.get((key, 'iphone13'), []))} | {off:.0%} | {macs / 1e9 / p15.total_ms:.2f} |")
    small = [median(v) for v in pub.values()]
    md += ["", f"Smallest published time in the shared data: {min(small):g} ms."]
    return md


def _plot(report) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharex=True, sharey=True)
    for ax, kind in zip(axes, ("model", "source", "phone")):
        sel = [r for r in report["cv"] if r["cv"] == kind]
        for chip, color in zip(CHIPS, ("tab:blue", "tab:orange", "tab:green", "tab:red")):
            pts = [r for r in sel if r["chip"] == chip]
            ax.scatter([r["measured_ms"] for r in pts], [r["predicted_ms"] for r in pts], s=14, c=color, label=chip)
        ax.plot([0.3, 5], [0.3, 5], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"leave one {kind} out")
        ax.set_xlabel("published ms (.all)")
    axes[0].set_ylabel("predicted ms")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(HERE / "cv_predicted_vs_measured.png", dpi=110)


def main() -> int:
    tables_dir = ROOT / "latency_tables"
    report = calibrate_today(tables_dir, HERE / "calibration.json")
    print(format_today(report))
    with open(HERE / "cv.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(report["cv"][0]))
        w.writeheader()
        w.writerows(report["cv"])
    _plot(report)
    tables = {(p, u): load_table(tables_dir / table_name(p, u, DEFAULT_RUNTIME))
              for p in TODAY_PHONES for u in ("cpu", "gpu", "ane")}
    md = [f"# Today's regime ({DEFAULT_RUNTIME}): predicted tables and their cross-validated error", "",
          "Command: `python experiments/today_speed/run.py` (also `nas tables calibrate --runtime "
          f"{DEFAULT_RUNTIME}`); commit {_commit()} (the tables are written by this run).", "",
          f"Calibration: {report['calibration']['rows']} rows of `{report['calibration']['file']}` "
          f"(sha256 {_sha(ROOT / report['calibration']['file'])}) and {report['calibration']['also']} "
          f"(sha256 {_sha(DOCS_FILE)}) "
          f"(per source: {report['calibration']['rows_per_source']}; per phone: "
          f"{report['calibration']['rows_per_device']}); every unit `.all` (Core ML's default). In-sample median "
          f"APE {report['in_sample_median_ape_pct']} %.", "",
          f"Test row kept out of the calibration: {', '.join(report['test_rows'])}: APE "
          f"{report['test_rows_ape_pct']} %.", "",
          "Per-inference floor by the OS each row records (rows per group: "
          f"{report['floor']['rows']}; by OS: {report['floor']['rows_by_os']}): "
          + ", ".join(f"{k} {v} ms" for k, v in report["floor"]["overhead_ms"].items())
          + f". The ANE tables assume {report['floor']['tables_assume']}.", "",
          "## Cross-validated median absolute % error (ANE = `.all`)", ""]
    md += _cv_table(report)
    lopo = report["cv_summary"]["phone"]["per_device_source"]
    md += ["", "Leave one phone out predicts a phone from the others (iPhone 13, the only A15 phone, is then "
           "predicted from the other chips through their published figures): the proxy for the owners' held-out "
           "phone. Sources of the reference protocol (Xcode's performance report: "
           f"{', '.join(report['calibration']['reference_level_sources'])}) have no offset. "
           "Per phone and source (a source timed on that phone only loses its offset, so its level is a guess; "
           "a source timed on other phones too keeps it, which isolates the chip transfer):", "",
           "| left-out phone / source | median APE | n |", "|---|---:|---:|"]
    md += [f"| {k} | {v['median_ape_pct']} % | {v['n']} |" for k, v in lopo.items()]
    ref = _reference_protocol_lopo(report)
    md += ["", "Leave one phone out, rows of the reference protocol only (the owners' hidden-phone check times a "
           "phone like the MobileNetV4 / iFormer papers): " + f"{ref['overall']} % (n={ref['n']}); "
           + "; ".join(f"{d} {v} % (n={n})" for d, (v, n) in ref["per_device"].items()) + "."]
    md += ["",
           "## Predicted `.all` latency (ms) of zoo models, tables of this regime", "",
           "| model | " + " | ".join(TODAY_PHONES) + " |", "|---|" + "---|" * len(TODAY_PHONES)]
    for name in SHOW:
        spec = zoo.get(name).spec
        md.append(f"| {name} | " + " | ".join(f"{price_net(spec, tables[p, 'ane']).total_ms:.2f}"
                                            for p in TODAY_PHONES) + " |")
    md += ["", "Prediction-only check (a held-out article model, never fitted): Apple's coremltools docs time "
           "MobileNetV3-Small (fp16 ML program, Xcode 15, iOS 17) on the iPhone 14 Pro (A16); its predicted table "
           "(the iPhone 15's, same chip figures) at the iOS 17+ floor:"]
    md += [f"- {r['model']} @ {r['device']}: published {r['ms']} ms, predicted "
           f"{price_net(zoo.get('mobilenet_v3_small').spec, find_table(r['device'], 'ane')).total_ms:.2f} ms"
           for r in _docs_rows("mobilenet_v3_small")]
    md += ["", "## Every zoo model on a recent phone (ANE tables, `.all`, ms)", "",
           "Plausibility check of the shipped tables: the iPhone 15 Pro (A17 Pro) table assumes iOS 17+, as does the "
           "iPhone 13's; published values are the shared data's rows on that phone (any source, any OS: the iPhone 13 "
           "rows are iOS 16 or unstated). 'off the ANE' is the share of the time priced on the CPU/GPU fallback.", ""]
    md += _zoo_check(tables)
    md += ["", "## Tables (sha256)", ""]
    for (p, u), t in sorted(tables.items()):
        md.append(f"- `{Path(t.path).name}`: {_sha(t.path)}")
    write_atomic(HERE / "results.md", "\n".join(md) + "\n")
    print(f"wrote {HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
