"""Latency lookup tables: provenance header + per-op entries, checked on load.

File format (YAML, one entry per line so diffs stay readable)::

    schema: nas.latency_table/1
    device: iphone11            # device name (nas.hardware.devices)
    unit: ane                   # cpu | gpu | ane | cpu_and_ane | local CPU runtimes: ort_cpu, torch_cpu
    method: measured            # measured | predicted
    runtime: coreml-mlprogram-ios16   # the runtime regime the times describe (see RUNTIMES)
    weights: lut4               # optional: the weight format timed (fp16 when absent; nas.compress)
    provenance:                 # where the numbers came from
      hardware: iPhone12,1
      os: iOS 17.5
      runtime: Core ML
      runtime_version: '7.2'
      date: '2026-11-28'
      protocol: {warmup_runs: 10, min_runs: 50, statistic: median, overhead: identity model subtracted}
      # predicted tables add: model, model_version, calibration (files), loo_mape_pct, ...
    time_unit: ms
    overhead: {median_ms: 0.41, p10_ms: 0.39, p90_ms: 0.45, n: 200}
    entry_count: 2
    entries:
      conv_k3_s2_c16@3x224x224: {median_ms: 0.113, p10_ms: 0.11, p90_ms: 0.12, n: 50}
      ir_k3_s1_e1_c16@16x112x112: {median_ms: 0.084, p10_ms: 0.08, p90_ms: 0.09, n: 50, unit_used: ane}

``runtime`` is part of a table's identity (``find_table`` picks by device, unit
and runtime): Core ML tables say ``coreml-<format>-<os><major>`` where format is
``mlprogram`` or ``neuralnetwork`` (an ML program on iOS 16 or later is
``coreml-mlprogram-ios16``, the regime ``nas export`` produces); local CPU tables
say ``onnxruntime`` or ``torch``. ``weights`` is part of the identity too: absent
means fp16 (every shipped table: predicted tables are fp16 only), ``int8``, ``lut8``,
``lut6`` or ``lut4`` a table measured on ops compressed as ``nas export --compress``
compresses (``nas profile-ops --compress``); only those are written with the field.

``network latency = overhead + sum of its layers' entries``. ``entry_count``
guards against a truncated file; duplicate keys, NaN, negative times, missing
fields and unknown units are refused with the file and field named.
"""

from __future__ import annotations

import gc
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nas.errors import NasError, SpecError
from nas import safeyaml
from nas.fsutil import write_atomic
from nas.compress import FP16
from nas.latency.provcheck import check_provenance
from nas.text import control_char, shown as _show
from nas.latency.regime import DEFAULT_RUNTIME, LOCAL_RUNTIMES, runtime_problem, weights_problem
from nas.latency.units import describe

SCHEMA = "nas.latency_table/1"
UNITS = ("cpu", "gpu", "ane", "all", "cpu_and_ane", "ort_cpu", "torch_cpu")
# simulated: imported from `nas-profiler profile --simulate` (a fake clock): a test of the pipeline, never a
# measurement -- it never counts as measured and never beats a predicted table (nas.latency.store).
METHODS = ("measured", "predicted", "simulated")
STAT_FIELDS = ("median_ms", "p10_ms", "p90_ms", "mad_ms", "n")


class TableError(SpecError):
    """A latency table that is malformed, or not for the device/unit asked."""


class MissingEntry(NasError, KeyError):
    """An op key the table does not have; says how to profile it."""

    def __init__(self, key: str, table: "LatencyTable"):
        self.key = key
        super().__init__(
            f"{table.source_name}: no entry for op {key!r}. Profile it with "
            f"`nas profile-ops --device {table.device} --unit {table.unit} --ops {key!r}` "
            f"(or the whole space/zoo model that needs it) and re-run.")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass(frozen=True)
class Stat:
    """Robust summary of repeated timings of one op (milliseconds)."""

    median_ms: float
    p10_ms: float | None = None
    p90_ms: float | None = None
    mad_ms: float | None = None
    n: int | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"median_ms": _round(self.median_ms)}
        for k in ("p10_ms", "p90_ms", "mad_ms"):
            if getattr(self, k) is not None:
                out[k] = _round(getattr(self, k))
        if self.n is not None:
            out["n"] = self.n
        out.update(self.extra)
        return out


def _round(v: float) -> float:
    return float(f"{v:.6g}")


@dataclass
class LatencyTable:
    device: str
    unit: str
    method: str
    provenance: dict
    overhead: Stat
    entries: dict[str, Stat]
    path: str | None = None
    runtime: str | None = None    # None in code: the unit's local runtime, else the exporter's regime
    weights: str = FP16           # the weight format timed (nas.compress.WEIGHT_FORMATS)

    def __post_init__(self):
        if self.runtime is None:
            self.runtime = LOCAL_RUNTIMES.get(self.unit, DEFAULT_RUNTIME)

    @property
    def source_name(self) -> str:
        return self.path or f"table {self.device}/{self.unit}"

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def ms(self, key: str) -> float:
        try:
            return self.entries[key].median_ms
        except KeyError:
            raise MissingEntry(key, self) from None

    def summary(self) -> str:
        p = self.provenance
        bits = [f"{self.method} {self.device}/{self.unit}", f"runtime {self.runtime}"]
        if self.weights != FP16:
            bits.append(f"weights {self.weights}")
        if describe(self):
            bits.append(f"compute units {describe(self)}")
        if self.method == "predicted":
            bits.append(f"model {p.get('model', '?')} {p.get('model_version', '')}".strip())
            if p.get("loo_mape_pct") is not None:
                kind = str(p.get("loo_kind") or "leave_one_model_out").replace("_", " ")
                bits.append(f"cross-validated error {p['loo_mape_pct']}% MAPE ({kind})")
            if p.get("regime_calibrated") is False:
                bits.append("NOT calibrated in this regime (the 2020 model moved to this chip's figures)")
        else:
            if self.method == "simulated":
                bits.append("SIMULATED (nas-profiler --simulate: not a measurement)")
            bits += [str(p.get(k)) for k in ("hardware", "os", "runtime", "date") if p.get(k)]
            v = p.get("validation")
            if isinstance(v, dict) and v.get("within_10pct") is not None:
                bits.append(f"validated on {v.get('networks')} networks: {v['within_10pct'] * 100:.0f} % within "
                            f"±10 %, MAPE {v.get('mape')} %")
            elif isinstance(p.get("correction"), dict):
                bits.append(f"in-network correction from {p['correction'].get('calibration_nets')} networks, "
                            f"no stored validation figure (`nas tables validate`)")
            elif self.method == "measured":
                bits.append("not validated on whole networks")
        return ", ".join(bits)

    def to_dict(self) -> dict:
        weights = {} if self.weights == FP16 else {"weights": self.weights}   # fp16 tables stay as they were
        return {"schema": SCHEMA, "device": self.device, "unit": self.unit, "method": self.method,
                "runtime": self.runtime, **weights,
                "provenance": self.provenance, "time_unit": "ms", "overhead": self.overhead.to_dict(),
                "entry_count": len(self.entries),
                "entries": {k: self.entries[k].to_dict() for k in sorted(self.entries)}}


MAX_N = 10**9    # timed runs behind one entry: more is not a measurement


def _finite(v: int | float) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:           # an int too large for a float (a 400-digit number)
        return False


def _stat(raw: Any, file: str, where: str) -> Stat:
    if not isinstance(raw, dict) or "median_ms" not in raw:
        raise TableError("an entry needs median_ms", file=file, layer=where, field="median_ms")
    odd = next((k for k in raw if not isinstance(k, str)), None)
    if odd is not None:
        raise TableError(f"field names must be text, got {odd!r}", file=file, layer=where, field=str(odd)[:40])
    values = {}
    for k in ("median_ms", "p10_ms", "p90_ms", "mad_ms"):
        if k in raw:
            v = raw[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
                raise TableError(f"{k} must be a finite number, got {_show(v)}", file=file, layer=where, field=k)
            if v < 0:
                raise TableError(f"{k} must not be negative, got {v}", file=file, layer=where, field=k)
            values[k] = float(v)
    bad = [k for k in raw if k.endswith(("_s", "_us", "_ns", "_sec"))]
    if bad:
        raise TableError(f"times must be in milliseconds (*_ms), got {bad[0]!r}", file=file, layer=where,
                         field=bad[0])
    n = raw.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N):
        raise TableError(f"n must be an integer in 1..{MAX_N}, got {_show(n)}", file=file, layer=where,
                         field="n")
    if raw.get("unit_used") is not None and not isinstance(raw["unit_used"], str):
        raise TableError(f"unit_used must be a unit name, got {_show(raw['unit_used'])}", file=file, layer=where,
                         field="unit_used")
    extra = {k: v for k, v in raw.items() if k not in STAT_FIELDS}
    return Stat(n=n, extra=extra, **values)


def table_from_dict(data: Any, file: str, *, text_checked: bool = False) -> LatencyTable:
    """A checked table from its data; ``text_checked``: its text came through ``nas.safeyaml``, which refuses
    control characters already (a table built in code has its provenance text walked here instead)."""
    if not isinstance(data, dict):
        raise TableError("a latency table is a mapping", file=file)
    if data.get("schema") != SCHEMA:
        raise TableError(f"schema must be {SCHEMA!r}, got {data.get('schema')!r}", file=file, field="schema")
    for key in ("device", "unit", "method", "runtime", "provenance", "time_unit", "overhead", "entry_count",
                "entries"):
        if key not in data:
            raise TableError(f"missing required field {key!r}", file=file, field=key)
    if not isinstance(data["device"], str) or control_char(data["device"]) or not data["device"]:
        raise TableError(f"device must be a device name (text without control characters), got "
                         f"{_show(data['device'])}", file=file, field="device")
    if data["unit"] not in UNITS:
        raise TableError(f"unit must be one of {', '.join(UNITS)}, got {data['unit']!r}", file=file,
                         field="unit")
    if data["method"] not in METHODS:
        raise TableError(f"method must be measured, predicted or simulated, got {data['method']!r}", file=file,
                         field="method")
    check_runtime(data["runtime"], data["unit"], file)
    weights = data.get("weights", FP16)
    problem = weights_problem(weights, data["unit"], data["method"], data["runtime"])
    if problem:
        raise TableError(problem, file=file, field="weights")
    if data["time_unit"] != "ms":
        raise TableError(f"time_unit must be 'ms', got {data['time_unit']!r}", file=file, field="time_unit")
    if not isinstance(data["provenance"], dict):
        raise TableError("provenance must be a mapping", file=file, field="provenance")
    try:
        check_provenance(data["provenance"], file, text=not text_checked)
    except SpecError as e:
        raise TableError(e.reason, file=file, field=e.field) from None
    entries_raw = data["entries"] or {}
    if not isinstance(entries_raw, dict):
        raise TableError("entries must be a mapping of op key to timings", file=file, field="entries")
    if data["entry_count"] != len(entries_raw):
        raise TableError(f"entry_count says {data['entry_count']} but {len(entries_raw)} entries were read "
                         f"(truncated file?)", file=file, field="entry_count")
    odd = next((k for k in entries_raw if not isinstance(k, str)), None)
    if odd is not None:
        raise TableError(f"op keys must be text, got {_show(odd)} ({type(odd).__name__})", file=file,
                         field="entries")
    entries = {k: _stat(v, file, f"entry {k}") for k, v in entries_raw.items()}
    return LatencyTable(str(data["device"]), data["unit"], data["method"], dict(data["provenance"]),
                        _stat(data["overhead"], file, "overhead"), entries, file, data["runtime"], weights)


def check_runtime(runtime: Any, unit: str, file: str = "") -> str:
    """Refuse a runtime name that is not a regime of this unit (``nas.latency.regime``)."""
    problem = runtime_problem(runtime, unit)
    if problem:
        raise TableError(problem, file=file, field="runtime")
    return runtime


def _parse(text: str) -> Any:
    """The table's data: ``save_table``'s entry lines by the fast reader, everything else by YAML."""
    from nas.latency.fastload import read_entries, split
    parts = split(text)
    if parts is not None:
        entries = read_entries(parts[1])
        if entries is not None:
            data = safeyaml.load(parts[0])
            if isinstance(data, dict):
                data["entries"] = entries
            return data
    gc_was = gc.isenabled()
    gc.disable()        # a big document is millions of young objects: collecting them is most of the time
    try:
        return safeyaml.load(text)
    finally:
        if gc_was:
            gc.enable()


def load_table(path: str | os.PathLike, *, device: str | None = None, unit: str | None = None,
               runtime: str | None = None, weights: str | None = None, allow_mismatch: bool = False) -> LatencyTable:
    """Load and check a table; refuse one for another device/unit/runtime/weight format unless
    ``allow_mismatch``."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TableError(f"not a YAML text file (not UTF-8 at byte {e.start})", file=file) from None
    except OSError as e:
        raise TableError(f"cannot read: {e.strerror}", file=file) from None
    try:
        data = _parse(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TableError(f"malformed table{where}: {getattr(e, 'problem', e)}", file=file) from None
    table = table_from_dict(data, file, text_checked=True)     # _parse: safeyaml, or the fast reader's numbers
    if not allow_mismatch:
        if device is not None and table.device != device:
            raise TableError(f"table is for device {table.device!r}, not {device!r} (pass "
                             f"--allow-other-device to use it anyway)", file=file, field="device")
        if unit is not None and table.unit != unit:
            raise TableError(f"table is for unit {table.unit!r}, not {unit!r} (pass "
                             f"--allow-other-device to use it anyway)", file=file, field="unit")
        if runtime is not None and table.runtime != runtime:
            raise TableError(f"table describes runtime {table.runtime!r}, not {runtime!r} (pass "
                             f"--allow-other-device to use it anyway)", file=file, field="runtime")
        if weights is not None and table.weights != weights:
            raise TableError(f"table prices {table.weights} weights, not {weights} (pass --allow-other-device "
                             f"to use it anyway)", file=file, field="weights")
    return table


def save_table(table: LatencyTable, path: str | os.PathLike) -> None:
    """Write atomically, entries one per line in key order."""
    data = table.to_dict()
    entries = data.pop("entries")
    head = yaml.safe_dump(data, sort_keys=False, width=100)
    lines = [head.rstrip("\n"), "entries:" if entries else "entries: {}"]
    for key, value in entries.items():
        lines.append("  " + yaml.safe_dump({key: value}, default_flow_style=True, width=10**6).strip()[1:-1])
    write_atomic(path, "\n".join(lines) + "\n")
