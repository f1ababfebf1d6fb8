"""Search results: the best feasible network, the Pareto front, baselines, and the files written to --out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Sequence

from nas.fsutil import json_text, write_atomic
from nas.search.storage import Trial
from nas.search.strategies.base import Status


@dataclass(frozen=True)
class Baseline:
    """A zoo model priced on the same table and scored by the same estimator."""

    name: str
    latency_ms: float
    accuracy: float
    accuracy_kind: str


METRICS = {"proxy": "proxy score in (0, 1), 0.5 = a typical network of the space",
           "train": "held-out accuracy (fraction) after short training",
           "predictor": "held-out accuracy (fraction) after short training, GP-screened"}


def metric(estimator) -> str:
    """What the accuracy numbers of a search are: a benchmark's metric (e.g. CIFAR-10 %), or the score's kind."""
    return getattr(estimator, "metric", None) or METRICS.get(estimator.kind, estimator.kind)


def best_trial(trials: Sequence[Trial]) -> Trial | None:
    """The feasible trial of highest accuracy (ties: lower latency, then earlier)."""
    ok = [t for t in trials if t.result.status is Status.OK]
    return min(ok, key=lambda t: (-t.result.accuracy, t.result.latency_ms, t.index), default=None)


def pareto(trials: Sequence[Trial]) -> list[Trial]:
    """Feasible trials no other is both faster and more accurate than, by latency (one per architecture)."""
    seen, front, top = set(), [], float("-inf")
    ok = sorted((t for t in trials if t.result.status is Status.OK),
                key=lambda t: (t.result.latency_ms, -t.result.accuracy, t.index))
    for t in ok:
        if t.arch in seen:
            continue
        seen.add(t.arch)
        if t.result.accuracy > top:
            front.append(t)
            top = t.result.accuracy
    return front


def point(t: Trial) -> dict:
    return {"trial": t.index, "arch": t.arch, "latency_ms": round(t.result.latency_ms, 6),
            "accuracy": round(t.result.accuracy, 6), "accuracy_kind": t.accuracy_kind}


def trials_csv(trials: Sequence[Trial]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", "status", "latency_ms", "accuracy", "accuracy_kind", "wall_s", "choices", "arch"])
    for t in trials:
        m = t.result.metrics
        w.writerow([t.index, t.result.status.value, f"{m['latency_ms']:.6f}" if "latency_ms" in m else "",
                    f"{m['accuracy']:.6f}" if "accuracy" in m else "", t.accuracy_kind or "",
                    f"{t.wall_s:.3f}", " ".join(map(str, t.result.choices)), t.arch])
    return buf.getvalue()


def plot_png(trials: Sequence[Trial], baselines: Sequence[Baseline], target_ms: float, title: str,
             metric: str | None = None) -> bytes:
    """Accuracy score vs latency: every feasible trial, the Pareto front, the best, the zoo baselines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    ok = [t for t in trials if t.result.status is Status.OK]
    ax.scatter([t.result.latency_ms for t in ok], [t.result.accuracy for t in ok], s=10, c="#9bb7d4",
               label=f"searched ({len(ok)} feasible of {len(trials)})")
    front = pareto(trials)
    if front:
        ax.plot([t.result.latency_ms for t in front], [t.result.accuracy for t in front], "-o", c="#1f4e79",
                ms=4, label="Pareto front")
    best = best_trial(trials)
    if best:
        ax.scatter([best.result.latency_ms], [best.result.accuracy], marker="*", s=220, c="#d62728",
                   zorder=5, label="best")
    for b in baselines:
        ax.scatter([b.latency_ms], [b.accuracy], marker="s", s=30, c="#2ca02c", zorder=4)
        ax.annotate(b.name, (b.latency_ms, b.accuracy), fontsize=6, alpha=0.8, xytext=(3, 3), textcoords="offset points")
    if baselines:
        ax.scatter([], [], marker="s", s=30, c="#2ca02c", label="article's models (same table, same estimator)")
    ax.set_xscale("log")
    ax.axvline(target_ms, ls="--", c="gray", lw=1, label=f"target {target_ms:g} ms")
    kind = best.accuracy_kind if best else "accuracy"
    ax.set_xlabel("latency (ms, from the table; log scale)")
    ax.set_ylabel(f"{metric} [{kind}]" if metric else f"accuracy score ({kind})", fontsize=8 if metric else None)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_json(path, data: dict) -> None:
    write_atomic(path, json_text(data, indent=1, sort_keys=False) + "\n")
