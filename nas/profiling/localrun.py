"""The local pipeline: profile ops, calibrate the in-network correction, write the table; validate it.

``profile_local``: isolated op timings (``nas.profiling.local``), then -- when a
space is given -- ``calibrate`` random networks of it (drawn with
``calibration_seed``) timed end to end to fit ``nas.profiling.correction``;
table entries are the corrected times. ``validate_local`` draws *other*
networks (``seed``), times them the same way and compares with the table sum.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nas.errors import NasError
from nas.fsutil import OutputLock
from nas.latency.pricing import price_net
from nas.latency.table import LatencyTable, Stat, save_table
from nas.profiling import correction
from nas.profiling.local import (Progress, call_overhead, get_runtime, machine_provenance, measure_nets,
                                 profile_ops)
from nas.profiling.measure import Protocol, summarize
from nas.profiling.ops import OpEntry
from nas.spaces.base import Space

from nas.profiling.networks import CALIBRATION_SEED  # noqa: E402  (shared with device bundles)
NET_PROTOCOL = {"min_runs": 60, "min_time_s": 30.0}


def net_protocol(protocol: Protocol) -> Protocol:
    """Networks: the ops' protocol with at least NET_PROTOCOL's runs and time."""
    from dataclasses import replace
    return replace(protocol, min_runs=max(protocol.min_runs, NET_PROTOCOL["min_runs"]),
                   max_runs=max(protocol.max_runs, NET_PROTOCOL["min_runs"]),
                   min_time_s=max(protocol.min_time_s, NET_PROTOCOL["min_time_s"]))


def profile_local(entries: Sequence[OpEntry], unit: str, out: str | os.PathLike, *, protocol: Protocol,
                  space: Space | None = None, calibrate: int = 24, calibration_seed: int = CALIBRATION_SEED,
                  resume: bool = False, hook: Callable[[int], None] | None = None, bar=None,
                  replace: bool = False) -> LatencyTable:
    """Measure ``entries`` on this machine into the measured table ``out``. A table already at ``out`` (a
    finished profile: minutes of measurements, perhaps another space's ops) is replaced only with ``replace``;
    ``resume`` continues an interrupted one (its ``.partial.jsonl``)."""
    out = Path(out)
    # One writer per table: a second profile into the same --out is refused before it touches the partial file.
    with OutputLock(out.with_name(out.name + ".lock"), f"profile {out}"):
        partial = out.with_name(out.name + ".partial.jsonl")
        if out.exists() and not replace and not (resume and partial.exists()):
            raise NasError(f"{out}: a finished table is already there; profiling would replace it and its "
                           f"measurements: pass --replace to overwrite it, or --out NEW.yaml to keep both")
        return _profile_local(entries, unit, out, protocol=protocol, space=space, calibrate=calibrate,
                              calibration_seed=calibration_seed, resume=resume, hook=hook, bar=bar)


def _profile_local(entries, unit, out: Path, *, protocol, space, calibrate, calibration_seed, resume, hook,
                   bar) -> LatencyTable:
    runtime = get_runtime(unit)
    header = {"unit": unit, "runtime": f"{runtime.name} {runtime.version}", "protocol": protocol.to_dict(),
              "clock": protocol.clock}
    progress = Progress(out.with_name(out.name + ".partial.jsonl"), header, resume)
    isolated = profile_ops(entries, runtime, protocol, progress, hook=hook, bar=bar)
    overhead = call_overhead(progress)
    provenance = machine_provenance(runtime, protocol) | {
        "overhead": "one-element model timed in the same rounds; subtracted from every op, added once per network"}
    entry_stats = dict(isolated)
    if space is not None and calibrate > 0:
        nets = [space.decode(c, name=f"calibration{i}") for i, c in
                enumerate(space.sample(np.random.default_rng(calibration_seed), calibrate))]
        if any(len(progress.passes_done(f"calibration/{i}")) == 0 for i in range(calibrate)):
            stats = measure_nets(nets, runtime, net_protocol(protocol), seed=calibration_seed)
            for i, s in enumerate(stats):
                progress.add(f"calibration/{i}", "net", 0, [s.median_ms])
        measured = [progress.samples(f"calibration/{i}")[0] for i in range(calibrate)]
        corr = correction.fit(nets, measured, isolated, overhead.median_ms, calibration_seed)
        provenance["correction"] = corr.to_dict() | {"space": space.name}
        entry_stats = correction.apply_to_table(corr, {e.key: (e.block, e.in_shape) for e in entries}, isolated)
    else:
        provenance["correction"] = None
    table = LatencyTable("local", unit, "measured", provenance, overhead, entry_stats)
    save_table(table, out)
    # Keep the raw samples next to the table (not needed to use it; lets a correction be refitted).
    os.replace(progress.path, out.with_name(out.name + ".samples.jsonl"))
    return table


def validate_local(table: LatencyTable, space: Space, samples: int, *, seed: int, protocol: Protocol,
                   bar=None) -> dict:
    """Time ``samples`` random networks of ``space`` end to end; compare with the table's sums."""
    from scipy.stats import spearmanr
    corr = table.provenance.get("correction") or {}
    if corr and corr.get("calibration_seed") == seed:
        raise NasError(f"seed {seed} drew the table's calibration networks; validate on other ones (--seed)")
    rng = np.random.default_rng(seed)
    nets = [space.decode(c, name=f"{space.name}_{seed}_{i}") for i, c in enumerate(space.sample(rng, samples))]
    predicted = [price_net(n, table).total_ms for n in nets]
    runtime = get_runtime(table.unit)
    stats = measure_nets(nets, runtime, net_protocol(protocol), seed=seed, bar=bar)
    measured = np.array([s.median_ms for s in stats])
    pred = np.array(predicted)
    err = (pred - measured) / measured
    rho = float(spearmanr(pred, measured)[0]) if samples > 2 else float("nan")
    return {"samples": samples, "within_10pct": round(float(np.mean(np.abs(err) <= 0.10)), 4),
            "spearman": round(rho, 4), "mape": round(float(np.mean(np.abs(err)) * 100), 3),
            "bias_pct": round(float(np.median(err) * 100), 3),
            "max_abs_error_pct": round(float(np.max(np.abs(err)) * 100), 3),
            "measured_spread_pct": round(float(np.median([(s.p90_ms - s.p10_ms) / s.median_ms for s in stats]) * 100), 2),
            "seed": seed, "space": space.name, "table": table.source_name, "unit": table.unit,
            "clock": protocol.clock,
            "nets": [{"dsl": str(n), "predicted_ms": round(p, 4), "measured_ms": round(s.median_ms, 4),
                      "p10_ms": round(s.p10_ms, 4), "p90_ms": round(s.p90_ms, 4), "n": s.n}
                     for n, p, s in zip(nets, predicted, stats)]}


def plot_validation(result: dict, path: str | os.PathLike) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m = np.array([n["measured_ms"] for n in result["nets"]])
    p = np.array([n["predicted_ms"] for n in result["nets"]])
    fig, ax = plt.subplots(figsize=(5, 5))
    lo, hi = min(m.min(), p.min()) * 0.9, max(m.max(), p.max()) * 1.1
    xs = np.array([lo, hi])
    ax.plot(xs, xs, "k-", lw=1, label="predicted = measured")
    ax.fill_between(xs, xs * 0.9, xs * 1.1, color="0.9", label="±10 %")
    ax.scatter(m, p, s=18, zorder=3)
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="measured end-to-end (ms)", ylabel="table sum (ms)",
           title=f"{result['space']} on {result['unit']}: {result['within_10pct'] * 100:.0f} % within ±10 %, "
                 f"ρ = {result['spearman']:.3f}")
    ax.title.set_fontsize(9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["profile_local", "validate_local", "plot_validation", "summarize"]
