"""A device table's whole-network check: fit the in-network correction on the bundle's calibration
networks, then measure how well the corrected table predicts its validation networks.

Used by ``nas tables import`` (the figures go into the table's provenance) and ``nas tables validate
--results`` (re-derived from the same files). The networks and their layers come from the manifest
(``network`` objects written by ``nas.profiling.bundle``); their end-to-end medians from the results.
The uncorrected sums' figures are kept next to the corrected ones, so the gain is visible.
"""

from __future__ import annotations

from collections import Counter

from nas.errors import NasError
from nas.latency.pricing import price_net
from nas.latency.table import LatencyTable, Stat
from nas.profiling import correction
from nas.profiling.networks import ProtocolNet
from nas.profiling.ops import parse_op_key


def manifest_networks(manifest: dict) -> list[ProtocolNet]:
    return [ProtocolNet.from_manifest(e["network"], f"manifest entry {e['key']}")
            for e in manifest["entries"] if "network" in e]


def fallback_ops(isolated: dict[str, Stat]) -> frozenset[str]:
    """Ops the compute plan puts off the unit most ops use (``unit_used`` from MLComputePlan); empty
    when no plan is known (older OS, local CPU)."""
    used = {k: s.extra.get("unit_used") for k, s in isolated.items()
            if s.extra.get("unit_used") not in (None, "unknown")}
    if not used:
        return frozenset()
    main = Counter(used.values()).most_common(1)[0][0]
    return frozenset(k for k, u in used.items() if u != main)


def check(manifest: dict, isolated: dict[str, Stat], overhead: Stat, net_ms: dict[str, float],
          make_table) -> tuple[dict[str, Stat], dict, list[str]]:
    """Returns (corrected entries, provenance additions, notes). ``net_ms``: network key -> measured
    end-to-end median; ``make_table(entries)`` builds a LatencyTable to price networks with."""
    nets = manifest_networks(manifest)
    if not nets:
        return isolated, {"correction": None, "validation": None}, [
            "warning: the bundle has no whole networks: no in-network correction and no validation figure "
            "(rebuild it with `nas profile-ops ... --calibrate 24 --validate 30`)"]
    notes = []
    timed = [n for n in nets if n.key in net_ms]
    if len(timed) < len(nets):
        notes.append(f"warning: {len(nets) - len(timed)} of {len(nets)} bundle networks have no result")
    complete = [n for n in timed if all(k in isolated for k in n.layers())]
    if len(complete) < len(timed):
        notes.append(f"warning: {len(timed) - len(complete)} networks left out: some of their ops have no result")
    cal = [n for n in complete if n.role == "calibration"]
    val = [n for n in complete if n.role == "validation"]
    if len(cal) < correction.MIN_NETS:
        raise NasError(f"only {len(cal)} calibration networks have results; the correction needs "
                       f"{correction.MIN_NETS}: finish the run (`--resume`) before importing")
    fb = fallback_ops(isolated)
    corr = correction.fit([n.net for n in cal], [net_ms[n.key] for n in cal], isolated, overhead.median_ms,
                          cal[0].seed, fb)
    ops = {k: (parse_op_key(k).block, parse_op_key(k).in_shape) for k in isolated}
    entries = correction.apply_to_table(corr, ops, isolated)
    prov = {"correction": corr.to_dict() | {"spaces": sorted({n.space for n in cal}),
                                            "calibration_nets_arch": [n.to_manifest()["arch"] for n in cal]}}
    notes.append(f"in-network correction fitted on {len(cal)} calibration networks: {corr.to_dict()['coef']}; "
                 f"fit MAPE {corr.fit_mape_pct:.2f} % (uncorrected sums {corr.uncorrected_mape_pct:.2f} %)")
    if val:
        corrected, raw = make_table(entries), make_table(isolated)
        measured = [net_ms[n.key] for n in val]
        names = [n.key for n in val]
        fig = correction.figures([price_net(n.net, corrected).total_ms for n in val], measured, names)
        unc = correction.figures([price_net(n.net, raw).total_ms for n in val], measured, names)
        prov["validation"] = fig | {"seed": val[0].seed, "spaces": sorted({n.space for n in val}), "uncorrected": unc,
                                    "measured_ms": [round(v, 4) for v in measured]}
        notes.append(describe(fig, "corrected table") + "\n" + describe(unc, "uncorrected sums"))
    else:
        prov["validation"] = None
        notes.append("warning: no validation network has results: no validation figure")
    return entries, prov, notes


def describe(fig: dict, what: str) -> str:
    rho = "n/a" if fig["spearman"] is None else f"{fig['spearman']:.3f}"
    return (f"{what}: {fig['within_10pct'] * 100:.0f} % of {fig['networks']} validation networks within ±10 %, "
            f"Spearman {rho}, MAPE {fig['mape']:.2f} %, worst {fig['max_abs_error_pct']:.1f} % ({fig['worst']})")


def table_maker(device: str, unit: str, method: str, overhead: Stat):
    return lambda entries: LatencyTable(device, unit, method, {}, overhead, entries)
