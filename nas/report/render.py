"""The comparison report as Markdown with PNG plots (matplotlib, Agg backend).

Writes ``report.md``, ``report.json`` (every number, unrounded), one
``pareto_<unit>.png`` per unit with a table, and ``stages_<unit>.png``: the
per-stage latency of the searched networks against fbnet_c and mobilenet_v2.
"""

from __future__ import annotations

from pathlib import Path

from nas.fsutil import json_text, write_atomic
from nas.report.compare import UNITS, Comparison

BASELINES = ("fbnet_c", "mobilenet_v2")
UNIT_NAMES = {"cpu": "CPU (cpuOnly)", "gpu": "GPU (cpuAndGPU)", "ane": "Neural Engine (all)"}


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another that is both faster and at least as accurate (by latency)."""
    front, best = [], float("-inf")
    for lat, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((lat, acc))
            best = acc
    return front


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_pareto(cmp: Comparison, unit: str, path: Path) -> bool:
    rows = [r for r in cmp.rows if r.predicted_ms.get(unit) is not None]
    if not rows:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    pts = []
    for r in rows:
        x = r.predicted_ms[unit]
        if r.accuracy is not None and r.accuracy_is_top1:
            pts.append((x, r.accuracy))
            marker, color = ("*", "tab:red") if r.kind == "searched" else ("o", "tab:blue")
            ax.scatter([x], [r.accuracy], marker=marker, s=120 if marker == "*" else 36, color=color, zorder=3)
            ax.annotate(r.name, (x, r.accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
        elif r.kind == "searched":   # a proxy accuracy is not ImageNet top-1: show its latency only
            ax.axvline(x, color="tab:red", ls="--", lw=1)
            ax.annotate(f"{r.name} ({r.accuracy_source})", (x, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=7, color="tab:red")
    front = pareto_front(pts)
    if len(front) > 1:
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="gray", lw=1, zorder=1)
    ax.set_xlabel(f"predicted latency on {cmp.device} {UNIT_NAMES[unit]} (ms)")
    ax.set_ylabel("ImageNet top-1 (%) quoted by the article")
    ax.set_title(f"Latency vs top-1, {cmp.device} {unit}: {cmp.tables[unit].method} table")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return True


def plot_stages(cmp: Comparison, unit: str, path: Path) -> list[str]:
    """Grouped bars: each network's predicted ms per stage. Returns the networks drawn."""
    rows = [r for r in cmp.rows if r.kind == "searched"] + [r for r in (cmp.row(b) for b in BASELINES) if r]
    rows = [r for r in rows if unit in r.stage_ms]
    if not rows:
        return []
    plt = _plt()
    n = max(len(r.stage_ms[unit]) for r in rows)
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(6, n * 0.9), 4.5))
    for i, r in enumerate(rows):
        xs = [s + (i - (len(rows) - 1) / 2) * width for s in range(len(r.stage_ms[unit]))]
        ax.bar(xs, r.stage_ms[unit], width, label=f"{r.name} ({r.predicted_ms[unit]:.2f} ms)")
    ax.set_xticks(range(n))
    ax.set_xlabel("stage")
    ax.set_ylabel("predicted ms")
    ax.set_title(f"Per-stage latency, {cmp.device} {UNIT_NAMES[unit]} (overhead not shown)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return [r.name for r in rows]


def _table(cmp: Comparison) -> list[str]:
    head = ["model", "input", "params (M)", "MACs (M)", "top-1 (%)"]
    head += [f"pred. {u} (ms)" for u in UNITS] + [f"publ. {u} (ms)" for u in UNITS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = sorted(cmp.rows, key=lambda r: (r.predicted_ms.get(cmp.unit) is None,
                                            r.predicted_ms.get(cmp.unit) or 0.0, r.name))
    for r in order:
        h, w = r.spec.input_size
        acc = _fmt(r.accuracy, 1) if r.accuracy_is_top1 else (
            f"{_fmt(r.accuracy, 3)} ({r.accuracy_source})" if r.accuracy is not None else "–")
        name = f"**{r.name}**" if r.kind == "searched" else r.name
        cells = [name, f"{h}x{w}" if h != w else str(h), f"{r.params / 1e6:.2f}", f"{r.macs / 1e6:.0f}", acc]
        cells += [(_fmt(r.predicted_ms.get(u), 3) + (" ⚠" if r.extrapolation.get(u) else ""))
                  if r.predicted_ms.get(u) is not None
                  else f"– ({r.predicted_note.get(u, '').split(' ')[0]})" for u in UNITS]
        cells += [_fmt(r.published_ms.get(u), 1) for u in UNITS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(cmp: Comparison, out: str | Path) -> Path:
    """Write the report folder; returns the Markdown file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# Zoo and searched networks on {cmp.device}", "",
          "Every network is priced with the same latency tables (`price_net`, as `nas latency` does).", "",
          "## Where the numbers come from", ""]
    for u in UNITS:
        md.append(f"- predicted {u}: {cmp.table_notes[u]}")
    md += ["- params, MACs: counted from each architecture description (BatchNorm included)",
           "- top-1: ImageNet top-1 quoted by the reference article (zoo `article.top1`); searched "
           "networks show their search's own accuracy measure and its kind",
           f"- published: the article's Core ML measurements (2020: NeuralNetwork .mlmodel on iOS 13, runtime "
           f"coreml-neuralnetwork-ios13), mean of 100 predictions, batch 1 "
           f"({cmp.published_source or 'file not found'}); – where the article has none",
           "- – (no): no latency table for that unit; – (missing): the table lacks an op (listed below the table)",
           ""]
    searched = [r for r in cmp.rows if r.kind == "searched"]
    for r in searched:
        md.append(f"- {r.name}: `{r.spec}`; latency reported by the search: {_fmt(r.search_latency_ms, 3)} ms")
    md += ["", "## Models", ""] + _table(cmp) + [""]
    gaps = [f"- {r.name} ({u}): {r.predicted_note[u]}" for r in cmp.rows for u in UNITS
            if r.predicted_ms.get(u) is None and r.predicted_note.get(u, "").startswith("missing")]
    if gaps:
        md += ["Not priced -- the first op key each table lacks (profile it with `nas profile-ops`, or "
               "refit the predicted tables with `nas tables calibrate`):", ""] + gaps + [""]
    flagged = [f"- {r.name} ({u}): " + "; ".join(f["text"] for f in r.extrapolation[u])
               for r in cmp.rows for u in UNITS if r.extrapolation.get(u)]
    if flagged:
        md += ["⚠ the prediction extrapolates beyond what its table's calibration measured "
               "(docs/latency-tables.md, \"How far to trust a prediction\"):", ""] + flagged + [""]
    md += ["## Latency vs top-1", ""]
    for u in UNITS:
        if cmp.tables[u] is not None and plot_pareto(cmp, u, out / f"pareto_{u}.png"):
            md += [f"![latency vs top-1 on {u}](pareto_{u}.png)", ""]
        else:
            md += [f"No plot for {u}: {cmp.table_notes[u]}", ""]
    md += ["## Per-stage latency", ""]
    for u in UNITS:
        drawn = plot_stages(cmp, u, out / f"stages_{u}.png") if cmp.tables[u] is not None else []
        if drawn:
            md += [f"{u}: {', '.join(drawn)}", "", f"![per-stage latency on {u}](stages_{u}.png)", ""]
    missing = [b for b in BASELINES if cmp.row(b) is None]
    if missing:
        md.append(f"Not in the zoo: {', '.join(missing)}.")
    data = {"device": cmp.device, "unit": cmp.unit, "tables": cmp.table_notes,
            "published_source": cmp.published_source, "rows": [r.to_json() for r in cmp.rows]}
    write_atomic(out / "report.json", json_text(data, indent=1) + "\n")
    write_atomic(out / "report.md", "\n".join(md) + "\n")
    return out / "report.md"
