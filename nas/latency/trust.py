"""How far to trust a priced network: where its table's numbers came from, and where it extrapolates.

A predicted table records, when it is generated, what its calibration covered
(``provenance.calibration_coverage``: ``calibration_coverage`` below): the share
of each calibration network's predicted time that falls off the table's unit
(the ANE's CPU/GPU fallback), and the range of MACs, parameters, layer count and
input side of those networks. Pricing a network then compares it with that
record (``extrapolation``): a network with much of its time on a path no
calibration row measures, or far outside the calibrated size range, is flagged.
``provenance_of`` is the machine-readable "where it came from" of a table.
"""

from __future__ import annotations

from typing import Iterable

from nas.arch.counts import count
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.hardware.devices import DEVICES
from nas.latency.pricing import price_net
from nas.latency.table import LatencyTable

OFF_UNIT_MIN_SHARE = 0.10   # off-unit time below this share of a prediction is not flagged
SIZE_FACTOR = 2.0           # "far outside": more than this factor beyond the calibrated range
SIZES = (("macs", "MACs"), ("params", "parameters"), ("layers", "layers"), ("input_side", "input side"))


def sizes(net: NetSpec) -> dict[str, int]:
    c = count(net)
    return {"macs": c.macs, "params": c.params, "layers": c.layers, "input_side": max(net.input_size)}


def off_unit_ms(layers: Iterable[tuple[float, str | None]], unit: str) -> dict[str, float]:
    """Milliseconds per unit other than ``unit``, from (ms, unit_used) pairs (None: on ``unit``)."""
    out: dict[str, float] = {}
    for ms, used in layers:
        if used and used != unit:
            out[used] = out.get(used, 0.0) + ms
    return out


def _net_off_share(net: NetSpec, table: LatencyTable, unit: str) -> dict[str, float]:
    pairs, total = [], table.overhead.median_ms
    for l in resolve(net):
        e = table.entries[l.key]
        pairs.append((e.median_ms, e.extra.get("unit_used")))
        total += e.median_ms
    return {u: ms / total for u, ms in off_unit_ms(pairs, unit).items()} if total > 0 else {}


def calibration_coverage(table: LatencyTable, specs: Iterable[NetSpec], unit: str | None = None) -> dict:
    """What the calibration networks ``specs`` cover on ``table`` (whose entries must price them):
    the largest share of a network's predicted time on each other unit, and their size range.
    ``unit``: the unit the predictions are for (a G1 phone's ``ane`` table holds gpu predictions)."""
    unit = unit or table.unit
    specs = list({str(s): s for s in specs}.values())
    share: dict[str, float] = {u: 0.0 for u in ("cpu", "gpu", "ane") if u != unit}
    ranges: dict[str, list[int]] = {}
    for s in specs:
        if unit == "ane":
            for u, v in _net_off_share(s, table, unit).items():
                share[u] = max(share.get(u, 0.0), v)
        for k, v in sizes(s).items():
            lo, hi = ranges.get(k, [v, v])
            ranges[k] = [min(lo, v), max(hi, v)]
    return {"unit": unit, "networks": len(specs),
            "calibrated_off_unit": any(v > 0 for v in share.values()),
            "off_unit_share_max": {u: round(v, 4) for u, v in sorted(share.items())},
            **{k: ranges.get(k) for k, _ in SIZES}}


def _pct(s: float) -> str:
    """A share in per cent that never rounds a partial share up to 100."""
    return f"{s * 100:.1f}" if 0.995 <= s < 1 else f"{s * 100:.0f}"


def _human(k: str, v: float) -> str:
    if k == "macs":
        return f"{v / 1e6:.0f} M" if v < 1e9 else f"{v / 1e9:.2f} G"
    if k == "params":
        return f"{v / 1e6:.2f} M"
    return f"{v:g}"


PRIOR_NAMES = {"peak": "peak", "bw": "bandwidth"}


def _chip_flag(table: LatencyTable, prov: dict) -> list[dict]:
    """A table predicted for a chip with no calibration row (``provenance.calibration_chip`` "none: ..."): no
    timing on that chip checks it, and some of the chip figures it rests on may be assumed rather than
    published (``provenance.priors``, ``nas/latency/costmodel/priors.py``). The chip is the device registry's."""
    chip = prov.get("calibration_chip")
    if not (isinstance(chip, str) and chip.startswith("none")):
        return []
    device = DEVICES.get(table.device)
    name = device.chip.replace("_", " ") if device else f"{table.device}'s"
    priors = prov.get("priors") if isinstance(prov.get("priors"), dict) else {}
    assumed = sorted(PRIOR_NAMES.get(k, str(k)) for k, v in priors.items() if "assumed" in str(v))
    how = (f"its {' and '.join(assumed)} assumed, not published" if assumed else "all of them published")
    return [{"kind": "chip", "chip": name, "assumed": assumed,
             "text": f"no calibration row on this phone's chip ({name}): predicted from the fit on other chips and "
                     f"this chip's figures, {how} (provenance.priors)"}]


def extrapolation(net: NetSpec, price, table: LatencyTable) -> list[dict]:
    """Where ``price`` (``price_net(net, table)``) goes beyond what the table's calibration covered."""
    prov = table.provenance or {}
    cov = prov.get("calibration_coverage")
    if table.method != "predicted":
        return []
    out = _chip_flag(table, prov)
    if not isinstance(cov, dict):
        return out
    unit = str(cov.get("unit") or table.unit)
    total = price.total_ms
    seen = cov.get("off_unit_share_max") or {}
    for u, ms in sorted(off_unit_ms(((l.ms, l.unit_used) for l in price.layers), unit).items()):
        s = ms / total if total > 0 else 0.0
        cal = float(seen.get(u, 0.0) or 0.0)
        if s >= OFF_UNIT_MIN_SHARE and s > cal:
            n = sum(1 for l in price.layers if l.unit_used == u)
            what = ("which no calibration row of this table measures: treat as unknown" if cal == 0 else
                    f"more than any calibration network's ({cal * 100:.0f} %): treat as extrapolated")
            out.append({"kind": "off_unit", "unit": u, "share": round(s, 4), "layers": n,
                        "layers_total": len(price.layers), "calibration_share_max": cal,
                        "text": f"{_pct(s)} % of this prediction ({n} of {len(price.layers)} layers) is on "
                                f"the {u.upper()} fallback path, {what}"})
    have = sizes(net)
    for k, label in SIZES:
        rng = cov.get(k)
        if not (isinstance(rng, list) and len(rng) == 2):
            continue
        lo, hi = rng
        v = have[k]
        if v > hi * SIZE_FACTOR or v * SIZE_FACTOR < lo:
            side = "above the largest" if v > hi else "below the smallest"
            out.append({"kind": "size", "quantity": k, "value": v, "calibration_range": [lo, hi],
                        "text": f"{label} {_human(k, v)} is far {side} of the {cov.get('networks')} calibration "
                                f"networks ({_human(k, lo)} to {_human(k, hi)}): treat as extrapolated"})
    return out


def flag_chosen(net: NetSpec, table: LatencyTable, notes: list[str]) -> list[dict]:
    """A search's chosen network: its extrapolation flags, each also added to ``notes`` as a warning."""
    flags = extrapolation(net, price_net(net, table), table)
    notes += [f"warning: the best network's latency extrapolates: {f['text']}" for f in flags]
    return flags


_MEASURED_KEYS = ("hardware", "os", "runtime", "runtime_version", "runtime_settings", "date", "protocol",
                  "validation")


def provenance_of(table: LatencyTable) -> dict:
    """Where a table's numbers came from, for JSON output: predicted (model, calibration data,
    cross-validated error and its kind) or measured (device, OS, protocol, validation figure)."""
    p = table.provenance or {}
    out = {"method": table.method, "device": table.device, "unit": table.unit, "runtime": table.runtime}
    if table.method == "predicted":
        cv = p.get("cross_validation")
        per = {}
        if isinstance(cv, dict):
            for kind, v in cv.items():
                if isinstance(v, dict):
                    per[kind] = {"overall": v.get("overall"), "this_chip": v.get("this_chip"),
                                 "this_device": (v.get("per_device") or {}).get(table.device)}
        out |= {"model": p.get("model"), "model_version": p.get("model_version"),
                "cross_validated_error": {
                    "median_ape_pct": p.get("loo_mape_pct"),
                    # the 2020 tables quote their phone/unit's leave-one-model-out error
                    "kind": p.get("loo_kind") or ("leave_one_model_out" if p.get("loo_mape_pct") is not None
                                                  else None),
                    **({"by_kind": per} if per else {})},
                "calibration": p.get("calibration"),
                "calibration_models": p.get("calibration_models") or (
                    (p.get("calibration") or {}).get("models") if isinstance(p.get("calibration"), dict) else None),
                "regime_calibrated": p.get("regime_calibrated", True),
                "calibration_coverage": p.get("calibration_coverage")}
        if p.get("os_assumed"):
            out["os_assumed"] = p["os_assumed"]
        # a chip with no calibration rows: which chip figures (peak, bandwidth) the prediction rests on, and
        # which of them were assumed rather than published (nas/latency/costmodel/priors.py)
        for k in ("calibration_chip", "priors"):
            if p.get(k):
                out[k] = p[k]
    else:
        out |= {k: p[k] for k in _MEASURED_KEYS if k in p}
        if isinstance(p.get("correction"), dict):
            out["correction"] = {k: v for k, v in p["correction"].items() if k != "calibration_measured_ms"}
    return out
