"""Several (device, unit) latency targets at once: one backbone that meets a target on each.

An iOS app ships one model to every supported iPhone, and Core ML may run it
on the ANE or the GPU; ``--device iphone11,iphonexs --unit ane,gpu --target-ms
0.8,15`` asks for a network within 0.8 ms on the iPhone 11 ANE *and* 15 ms on the
iPhone XS GPU. The comma lists pair up position by position; a list of one
applies to every pair. Each pair is priced on its own table; a candidate is
feasible when it meets every target. Its metrics carry each pair's latency
(``latency_ms@DEVICE/UNIT``), the worst-case ratio ``max(latency / target)``
(``latency_ratio``, what the strategies rank infeasible candidates and the RL
reward by), and ``latency_ms``, the first pair's latency, so that files made
for one device still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nas.errors import NasError
from nas.latency import SpacePricer
from nas.latency.store import find_priced
from nas.fsutil import file_sha256, portable_path
from nas.latency.table import LatencyTable
from nas.search.storage import Trial
from nas.search.strategies.base import Result, Status


@dataclass(frozen=True)
class Constraint:
    device: str
    unit: str
    target_ms: float

    @property
    def pair(self) -> str:
        return f"{self.device}/{self.unit}"

    @property
    def key(self) -> str:
        """The metric that holds this pair's latency."""
        return f"latency_ms@{self.pair}"


def _split(text, what: str) -> list[str]:
    items = [s.strip() for s in str(text).split(",")]
    if not items or any(not s for s in items):
        raise NasError(f"{what} {text!r}: expected a comma-separated list without empty items")
    return items


def parse_constraints(device: str, unit: str, target_ms) -> list[Constraint]:
    """Pair up ``--device``, ``--unit`` and ``--target-ms`` lists (a list of one applies to all)."""
    devices, units = _split(device, "--device"), _split(unit, "--unit")
    texts = _split(target_ms, "--target-ms")
    targets = []
    for t in texts:
        try:
            targets.append(float(t))
        except ValueError:
            raise NasError(f"--target-ms {target_ms!r}: {t!r} is not a number") from None
        if not np.isfinite(targets[-1]) or targets[-1] <= 0:
            raise NasError(f"--target-ms {target_ms!r}: every target must be a positive number of ms, got {t}")
    n = max(len(devices), len(units), len(targets))
    for name, items in (("--device", devices), ("--unit", units), ("--target-ms", targets)):
        if len(items) not in (1, n):
            raise NasError(f"{name} lists {len(items)} values but another list has {n}: lists pair up "
                           f"position by position, so give {n} values or one for all")
    pick = lambda items, i: items[0] if len(items) == 1 else items[i]  # noqa: E731
    out = [Constraint(pick(devices, i), pick(units, i), pick(targets, i)) for i in range(n)]
    pairs = [c.pair for c in out]
    if len(set(pairs)) != len(pairs):
        dup = next(p for p in pairs if pairs.count(p) > 1)
        raise NasError(f"--device/--unit name {dup} twice: give each (device, unit) pair one target")
    return out


def table_info(table: LatencyTable) -> dict:
    """Where a table's latencies come from: the file, its sha256, measured or predicted, its regime
    (``runtime``) and weight format. summary.json's ``table`` (one pair) and each pair's (several)."""
    return {"path": portable_path(table.path), "sha256": file_sha256(table.path)
            if table.path else None, "source": table.method, "device": table.device, "unit": table.unit,
            "runtime": table.runtime, "weights": table.weights, "summary": table.summary()}


class MultiPricer:
    """Prices decision vectors on every pair's table; ``price`` is the first pair's (for single-table callers)."""

    def __init__(self, space, constraints: Sequence[Constraint], tables: Sequence[LatencyTable]):
        self.constraints = list(constraints)
        self.tables = list(tables)
        self.pricers = [SpacePricer(space, t) for t in self.tables]
        self.targets = np.array([c.target_ms for c in self.constraints])

    def price(self, choices: np.ndarray) -> np.ndarray:
        return self.pricers[0].price(choices)

    def price_metrics(self, batch: np.ndarray, target_ms: float | None = None) -> list[tuple[dict, bool]]:
        """Per candidate: its metrics and whether it is over any target."""
        lat = np.stack([np.atleast_1d(p.price(batch)) for p in self.pricers], axis=1)   # (B, pairs)
        out = []
        for row in lat:
            m = {"latency_ms": float(row[0])} | {c.key: float(v) for c, v in zip(self.constraints, row)}
            m["latency_ratio"] = float(max(v / c.target_ms for c, v in zip(self.constraints, row)))
            out.append((m, bool((row > self.targets).any())))
        return out

    def fastest_ms(self) -> float:
        return self.pricers[0].fastest_ms()

    def slowest_ms(self) -> float:
        return self.pricers[0].slowest_ms()

    def median_ms(self) -> float:
        return self.pricers[0].median_ms()

    def fastest(self) -> list[float]:
        """The fastest network of the space on each pair's table (each pair on its own)."""
        return [p.fastest_ms() for p in self.pricers]

    @property
    def target_map(self) -> dict[str, float]:
        return {c.key: c.target_ms for c in self.constraints}


def prepare_multi(space, constraints: Sequence[Constraint], runtime: str | None = None,
                  weights: str | None = None) -> MultiPricer:
    """Find each pair's table in ``runtime`` (None: each unit's default regime, as ``find_table``) for
    ``weights`` (``find_priced``: fp16 where no table of those weights exists) and refuse a target below the
    fastest network of the space on it."""
    pricer = MultiPricer(space, constraints, [find_priced(c.device, c.unit, runtime, weights)[0]
                                              for c in constraints])
    for c, t, fastest in zip(constraints, pricer.tables, pricer.fastest()):
        if fastest > c.target_ms:
            raise NasError(f"target {c.target_ms:g} ms for {c.pair} is infeasible: the fastest network of space "
                           f"{space.name!r} takes {fastest:.3f} ms on {t.source_name} ({t.summary()}); raise it to "
                           f"at least {fastest:.3f}")
    return pricer


def on_pair(trials: Sequence[Trial], c: Constraint) -> list[Trial]:
    """The trials with ``latency_ms`` set to pair ``c``'s latency (for per-device fronts and plots)."""
    out = []
    for t in trials:
        m = dict(t.result.metrics)
        if c.key in m:
            m["latency_ms"] = m[c.key]
        out.append(Trial(t.index, Result(t.result.choices, t.result.status, m), t.arch, t.accuracy_kind, t.wall_s))
    return out


def ratio_front(trials: Sequence[Trial]) -> list[Trial]:
    """Feasible trials on the front of accuracy (higher) vs worst-case latency ratio (lower)."""
    ok = sorted((t for t in trials if t.result.status is Status.OK),
                key=lambda t: (t.result.metrics["latency_ratio"], -t.result.accuracy, t.index))
    seen, front, top = set(), [], float("-inf")
    for t in ok:
        if t.arch not in seen and t.result.accuracy > top:
            front.append(t)
            top = t.result.accuracy
        seen.add(t.arch)
    return front


def full_front(trials: Sequence[Trial], keys: Sequence[str]) -> list[Trial]:
    """Feasible trials no other feasible one dominates on accuracy (higher) and every latency (lower)."""
    ok, seen = [], set()
    for t in sorted((t for t in trials if t.result.status is Status.OK), key=lambda t: t.index):
        if t.arch not in seen:
            seen.add(t.arch)
            ok.append((t, (-t.result.accuracy, *(t.result.metrics[k] for k in keys))))

    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and a != b
    return [t for t, v in ok if not any(dominates(w, v) for _, w in ok)]


def summarize(pricer: MultiPricer, trials: Sequence[Trial], best: Trial | None) -> dict:
    """summary.json's per-pair part: each pair's table (source, regime, sha256), target and the best's latency."""
    devices = []
    for c, t in zip(pricer.constraints, pricer.tables):
        row = {"device": c.device, "unit": c.unit, "target_ms": c.target_ms, "table": table_info(t)}
        if best is not None:
            lat = best.result.metrics[c.key]
            row |= {"best_latency_ms": round(lat, 6), "best_meets_target": bool(lat <= c.target_ms)}
        devices.append(row)
    front = [{"trial": t.index, "arch": t.arch, "accuracy": round(t.result.accuracy, 6),
              "accuracy_kind": t.accuracy_kind, "latency_ratio": round(t.result.metrics["latency_ratio"], 6),
              "latency_ms": {c.pair: round(t.result.metrics[c.key], 6) for c in pricer.constraints}}
             for t in ratio_front(trials)]
    every = [{"trial": t.index, "arch": t.arch, "accuracy": round(t.result.accuracy, 6),
              "latency_ms": {c.pair: round(t.result.metrics[c.key], 6) for c in pricer.constraints}}
             for t in full_front(trials, [c.key for c in pricer.constraints])]
    return {"devices": devices, "pareto_worst_ratio": front, "pareto_every_latency": every}


def write_plots(out: Path, pricer: MultiPricer, trials: Sequence[Trial], title: str) -> None:
    """``pareto_DEVICE_UNIT.png`` per pair: every trial at that pair's latency, its target, the overall best."""
    from nas.fsutil import write_atomic
    from nas.search import report

    for c, t in zip(pricer.constraints, pricer.tables):
        png = report.plot_png(on_pair(trials, c), (), c.target_ms,
                              f"{title} on {c.pair} ({t.method}), target {c.target_ms:g} ms; feasible = within "
                              f"every target ({', '.join(f'{k.pair} {k.target_ms:g}' for k in pricer.constraints)})")
        write_atomic(Path(out) / f"pareto_{c.device}_{c.unit}.png", png)
