"""Predicted latency tables from fitted parameters: every op of every space and zoo model.

Entries carry ``median_ms`` and ``unit_used`` (where the op is expected to run);
Neural Engine entries that fall back also name the ane-rules.md rule (``rule``).
A network priced from a table costs exactly what the fitted model predicts for it.
"""

from __future__ import annotations

import math

import numpy as np

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.latency.costmodel.atoms import block_atoms, regime_traits, stack
from nas.latency.costmodel.model import block_ms, unit_used
from nas.latency.regime import ARTICLE_RUNTIME
from nas.latency.table import LatencyTable, Stat
from nas.latency.trust import calibration_coverage
from nas.hardware.devices import get_device

MODEL_NAME = "nas.latency.costmodel"
MODEL_VERSION = "1.5"


def coverage(extra: list[NetSpec] = ()) -> dict[str, tuple]:
    """Op key -> (block, in_shape) for every layer of every space, zoo model and ``extra`` network."""
    from nas import zoo
    from nas.spaces import load_space, space_names
    layers = {}
    for name in space_names():
        for f in load_space(name).factors:
            for ls in f.layers:
                for l in ls:
                    layers.setdefault(l.key, (l.block, l.in_shape))
    for spec in [zoo.get(n).spec for n in zoo.names()] + list(extra):
        for l in resolve(spec):
            layers.setdefault(l.key, (l.block, l.in_shape))
    return dict(sorted(layers.items()))


def _ms(v: float) -> float:
    return float(f"{v:.4g}")


def predicted_entries(layers: dict[str, tuple], unit: str, theta: dict, fallback: dict | None,
                      drop: tuple[str, ...] = ()):
    """(entries, overhead_ms) for the given op keys on ``unit``; ``drop``: ANE rules the regime lacks."""
    keys = list(layers)
    per_block = [block_atoms(b, s) for b, s in layers.values()]
    arr = stack(per_block, drop)
    times, _ = block_ms(arr, unit, theta, fallback)
    used = unit_used(arr, unit, theta, fallback)
    entries = {}
    for i, k in enumerate(keys):
        extra = {"unit_used": used[i]}
        if unit == "ane":
            rules = sorted({a.ane_rule for a in per_block[i] if a.ane_rule and a.ane_rule not in drop})
            if rules:
                extra["rule"] = ",".join(rules)
        entries[k] = Stat(_ms(float(times[i])), extra=extra)
    return entries, _ms(math.exp(theta["overhead"]) * 1e3)


def build_table(phone: str, unit: str, fits: dict, layers: dict, provenance: dict,
                runtime: str = ARTICLE_RUNTIME, calibration: list[NetSpec] | None = None) -> LatencyTable:
    """The predicted table of ``phone``/``unit``; on a phone without a usable ANE (G1) ``ane`` is its GPU.
    ``calibration``: the networks its unit was fitted to; their coverage goes into the provenance
    (``nas.latency.trust.calibration_coverage``: off-unit shares, size range)."""
    dev = get_device(phone)
    g1 = unit == "ane" and not dev.ane_for_third_party
    drop = regime_traits(runtime)
    fb = {u: fits[u].theta for u in ("cpu", "gpu")}
    if g1:
        entries, overhead = predicted_entries(layers, "gpu", fits["gpu"].theta, None)
        provenance = dict(provenance, fallback=(
            f"ane-rules G1: the {dev.chip}'s Neural Engine is not used by third-party Core ML, so .all runs "
            f"on CPU+GPU as .cpuAndGPU does; these are the {phone} gpu predictions (unit_used: gpu)"))
    else:
        entries, overhead = predicted_entries(layers, unit, fits[unit].theta, fb if unit == "ane" else None, drop)
    table = LatencyTable(phone, unit, "predicted", provenance, Stat(overhead), entries, runtime=runtime)
    if calibration is not None:
        table.provenance = dict(table.provenance, calibration_coverage=calibration_coverage(
            table, calibration, "gpu" if g1 else unit))
    return table


def natural(theta: dict) -> dict:
    """Fitted parameters in readable units."""
    out = {"peak_gflops": np.exp(theta["peak"]) / 1e9, "bandwidth_gb_s": np.exp(theta["bw"]) / 1e9,
           "launch_us": np.exp(theta["launch"]) * 1e6, "depthwise_efficiency": np.exp(theta["dw"]),
           "grouped_efficiency": np.exp(theta["gconv"]), "eltwise_multiplier": np.exp(theta["eltwise"]),
           "concat_multiplier": np.exp(theta["concat"]),
           "layout_op_multiplier": np.exp(theta["memory"]), "overhead_ms": np.exp(theta["overhead"]) * 1e3}
    if "wbw" in theta:
        out["weight_read_gb_s"] = np.exp(theta["wbw"]) / 1e9
    if "wino" in theta:
        out["conv3x3_speedup"] = np.exp(theta["wino"])
    if "split" in theta:
        out["split_multiplier"] = np.exp(theta["split"])
    if "occ" in theta:
        out["occupancy_outputs"] = np.exp(theta["occ"])
    if "amx" in theta:
        out["matrix_block_gflops"] = np.exp(theta["amx"]) / 1e9
    if "transfer" in theta:
        out["transfer_us"] = np.exp(theta["transfer"]) * 1e6
    if "xfer_cpu" in theta:
        out["transfer_cpu_us"] = np.exp(theta["xfer_cpu"]) * 1e6
    if "xfer_bw" in theta:
        out["transfer_gb_s"] = np.exp(theta["xfer_bw"]) / 1e9
    return {k: float(f"{v:.4g}") for k, v in out.items()}
