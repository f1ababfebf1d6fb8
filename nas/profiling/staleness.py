"""Is a measured local table still right for this machine? Re-time a few of its calibration networks.

A local table keeps its calibration networks' end-to-end times (``provenance.correction.
calibration_measured_ms``; the networks are re-drawn from ``calibration_seed`` and the space). Machine
load, another CPU, or another runtime version change them; the table's prices then miss by as much.
``drift`` re-times the first few networks with the table's runtime and compares medians: beyond
``STALE_PCT`` the table is stale for this machine. ``nas tables validate`` runs it and exits non-zero;
a search (``quick_check``) warns.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nas.latency.table import LatencyTable
from nas.profiling.measure import Protocol

STALE_PCT = 15.0
QUICK = Protocol(warmup_runs=3, min_runs=15, min_time_s=3.0, max_runs=200, passes=1)


def calibration_record(table: LatencyTable) -> dict | None:
    corr = table.provenance.get("correction")
    if table.device != "local" or table.method != "measured" or not isinstance(corr, dict):
        return None
    if not corr.get("calibration_measured_ms") or not corr.get("space"):
        return None
    return corr


def drift(table: LatencyTable, count: int = 3, protocol: Protocol = QUICK) -> dict | None:
    """Re-time ``count`` calibration networks; None when the table keeps none (not a local measured table)."""
    from nas.profiling.local import get_runtime, measure_nets
    from nas.spaces import load_space
    corr = calibration_record(table)
    if corr is None:
        return None
    space = load_space(corr["space"])
    old = corr["calibration_measured_ms"]
    count = min(count, len(old))
    seed = int(corr["calibration_seed"])  # the networks profile_local drew, in the same order
    nets = [space.decode(c) for c in space.sample(np.random.default_rng(seed), len(old))[:count]]
    proto = replace(protocol, clock=(table.provenance.get("protocol") or {}).get("clock", protocol.clock))
    stats = measure_nets(nets, get_runtime(table.unit), proto, seed=seed)
    ratios = [s.median_ms / o for s, o in zip(stats, old[:count])]
    pct = float(np.median(ratios) - 1) * 100
    return {"networks": count, "drift_pct": round(pct, 2), "stale": abs(pct) > STALE_PCT,
            "then_ms": [round(v, 4) for v in old[:count]], "now_ms": [round(s.median_ms, 4) for s in stats]}


def advice(table: LatencyTable, result: dict) -> str:
    space = (table.provenance.get("correction") or {}).get("space", "SPACE")
    return (f"table {table.source_name} is stale for this machine: its calibration networks now take "
            f"{result['drift_pct']:+.1f} % (median of {result['networks']}; limit ±{STALE_PCT:g} %). Re-profile: "
            f"`nas profile-ops --device local --unit {table.unit} --space {space} --out TABLE`, then "
            f"`nas tables validate --device local --unit {table.unit} --space {space} --table TABLE`")


def quick_check(table: LatencyTable) -> str | None:
    """A warning when a measured local table has drifted on this machine (a few seconds), else None."""
    result = drift(table)
    return advice(table, result) if result and result["stale"] else None
