"""Finding the table for a device, unit and runtime regime: a measured table always wins over a predicted one.

Search order: ``$NAS_TABLES_DIR`` (a user's own tables), then the shipped
``latency_tables/`` folder. Within each, ``{device}-{unit}.yaml`` and
``{device}-{unit}.*.yaml`` files (e.g. ``iphone13-ane.coreml-mlprogram-ios16.yaml``)
are read; only tables of the asked regime count (default: the one ``nas export``
produces, ``coreml-mlprogram-ios16``), and a ``measured`` one beats a
``predicted`` one, which beats a ``simulated`` one (a pipeline test, never a measurement). A phone with no table of its own uses the predicted tables of a phone with
the same chip figures (``nas.hardware.devices.SAME_FIGURES``: iPhone 12 Pro -> iPhone 12); the table
then names that phone. The choice is reported by the callers (``LatencyTable.summary``).

The weight format (``weights``) is part of the identity like the regime: ``find_table`` returns only
tables of the asked format (default fp16, which every shipped table is). ``find_priced`` is what pricing
of compressed exports calls: the table of those weights when one exists (a measured one: predicted tables
are fp16 only), else the fp16 one together with a note that says so -- never a silent mix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nas.compress import FP16
from nas.hardware.devices import SAME_FIGURES
from nas.latency.regime import DEFAULT_RUNTIME, LOCAL_RUNTIMES
from nas.latency.table import LatencyTable, TableError, load_table
from nas.latency.units import compute_units

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "latency_tables"


def table_dirs() -> list[Path]:
    """``$NAS_TABLES_DIR`` (refused if it names no folder: a typo would silently price on shipped tables), then
    the shipped folder."""
    dirs = []
    if os.environ.get("NAS_TABLES_DIR"):
        mine = Path(os.environ["NAS_TABLES_DIR"])
        if not mine.is_dir():
            raise TableError(f"NAS_TABLES_DIR={mine}: no such folder (unset it to use the shipped tables only)")
        dirs.append(mine)
    dirs.append(SHIPPED_DIR)
    return dirs


def default_runtime(unit: str) -> str:
    """The regime a search or ``nas latency`` uses when none is asked: the exporter's (local units: theirs)."""
    return LOCAL_RUNTIMES.get(unit, DEFAULT_RUNTIME)


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")    # a device or unit as it appears in a table's file name


def candidates(device: str, unit: str) -> list[Path]:
    for field, name in (("device", device), ("unit", unit)):
        if not isinstance(name, str) or not NAME.fullmatch(name):   # no '/', '..', glob characters or 10k chars
            shown = name if not isinstance(name, str) or len(name) <= 80 else f"{name[:80]}... ({len(name)} characters)"
            raise TableError(f"{field} {shown!r} is not a device or unit name (letters, digits, '_.+-'; at most 64)",
                             field=field)
    out = []
    for d in table_dirs():
        names = [d / f"{device}-{unit}.yaml"] + sorted(d.glob(f"{device}-{unit}.*.yaml"))
        out += [p for p in names if p.exists()]
    return out


def named_for(path: str | os.PathLike) -> tuple[str, str] | None:
    """The device and unit that ``candidates`` finds a file of this name for (``DEVICE-UNIT.yaml``,
    ``DEVICE-UNIT.*.yaml``), where DEVICE is a registered device (or ``local``) and UNIT a table's unit; None for
    any other name."""
    from nas.hardware.devices import DEVICES
    from nas.latency.table import UNITS
    device, _, unit = Path(path).name.split(".")[0].partition("-")
    return (device, unit) if (device in DEVICES or device == "local") and unit in UNITS else None


RANK = {"measured": 0, "predicted": 1, "simulated": 2}  # a simulated table never beats a predicted one


def _predicted_all_timed(device: str, runtime: str) -> LatencyTable | None:
    """A predicted `ane` table fitted to `.all` timings (``nas.latency.units``): it answers `--unit all` where
    no `all` table exists (user's before shipped; a phone with the same chip figures as a fallback)."""
    for dev in (device, SAME_FIGURES.get(device)):
        for p in candidates(dev, "ane") if dev else ():
            t = load_table(p, device=dev, unit="ane")
            if t.runtime == runtime and t.method == "predicted" and compute_units(t)[0] == "all":
                return t
    return None


class NoTable(TableError):
    """No table of the asked identity (device, unit, runtime, weight format) exists."""


def find_table(device: str, unit: str, runtime: str | None = None, weights: str = FP16) -> LatencyTable:
    """The best table for ``device``/``unit`` in ``runtime`` (default: ``default_runtime(unit)``) timed
    with ``weights``: measured before predicted, user's before shipped."""
    runtime = runtime or default_runtime(unit)
    every = _load_all(device, unit)
    if weights != FP16:
        return _compressed(every, device, unit, runtime, weights)
    return _fp16(every, device, unit, runtime)


def _load_all(device: str, unit: str) -> list[LatencyTable]:
    return [load_table(p, device=device, unit=unit) for p in candidates(device, unit)]


def _fp16(every: list[LatencyTable], device: str, unit: str, runtime: str) -> LatencyTable:
    """``find_table``'s pick among fp16 tables: ``every`` is the device's own loaded tables."""
    every = list(every)
    if unit == "all" and not any(t.runtime == runtime for t in every):
        alt = _predicted_all_timed(device, runtime)
        if alt is not None:
            return alt
    found = [t for t in every if t.runtime == runtime and t.weights == FP16]
    twin = SAME_FIGURES.get(device)
    if not any(t.method == "measured" for t in found) and twin:   # a phone with the same chip figures
        shared = [load_table(p, device=twin, unit=unit) for p in candidates(twin, unit)]
        found += [t for t in shared if t.runtime == runtime and t.method == "predicted" and t.weights == FP16]
        every += shared
    if not found:
        where = ", ".join(str(d) for d in table_dirs())
        other = sorted({t.runtime for t in every})
        hint = (f"; tables exist for runtime {', '.join(other)} (pass --runtime {other[0]})" if other else
                f"; profile one with `nas profile-ops --device {device} --unit {unit}` or pass --table PATH")
        raise NoTable(f"no latency table for device {device!r} unit {unit!r} runtime {runtime!r} in "
                      f"{where}{hint}", field="device")
    found.sort(key=lambda t: RANK.get(t.method, len(RANK)))
    return _unambiguous(found)


def _unambiguous(found: list[LatencyTable]) -> LatencyTable:
    """``found[0]`` (sorted best first), unless the next table is as good and of the same device in the same folder:
    two files of one identity (``iphone11-ane.yaml`` beside ``iphone11-ane.coreml-mlprogram-ios16.yaml``, or a copy
    with other timings) would be picked between by file name alone."""
    best = found[0]
    for t in found[1:]:
        if (RANK.get(t.method) == RANK.get(best.method) and t.device == best.device and t.path and best.path
                and Path(t.path).parent == Path(best.path).parent):
            raise TableError(f"a second {best.method} table of device {best.device!r} unit {best.unit!r} runtime "
                             f"{best.runtime!r} weights {best.weights} in its folder, beside {best.path}: which one "
                             f"prices is not clear (keep one, or pass --table PATH)", file=t.path, field="device")
    return best


def _compressed(every: list[LatencyTable], device: str, unit: str, runtime: str, weights: str) -> LatencyTable:
    """The best table of compressed ``weights`` (measured before simulated; never another phone's)."""
    found = sorted((t for t in every if t.runtime == runtime and t.weights == weights),
                   key=lambda t: RANK.get(t.method, len(RANK)))
    if not found:
        raise NoTable(f"no latency table of {weights} weights for device {device!r} unit {unit!r} runtime "
                      f"{runtime!r} in {', '.join(str(d) for d in table_dirs())} (none ships: measure one with "
                      f"`nas profile-ops --device {device} --unit {unit} --compress {weights}`)", field="weights")
    return _unambiguous(found)


def weights_note(table: LatencyTable, weights: str | None) -> str | None:
    """What a price on ``table`` says when the export has ``weights`` (None: fp16): None when the table is of
    that format, else that the figures price the table's own (fp16) weights."""
    weights = weights or FP16
    if table.weights == weights:
        return None
    return (f"no latency table of {weights} weights for {table.device}/{table.unit}: these figures price "
            f"{table.weights} weights ({table.method} table); measure {weights} with `nas profile-ops --device "
            f"{table.device} --unit {table.unit} --compress {weights}`")


def check_priced(table: LatencyTable, weights: str | None, allow_mismatch: bool = False) -> str | None:
    """A given table (``--table``) for an export with ``weights``: an fp16 table prices any export, with
    ``weights_note``'s note when the export is compressed; a compressed table prices only its own format
    (refused otherwise unless ``allow_mismatch``)."""
    if table.weights not in (FP16, weights or FP16) and not allow_mismatch:
        raise TableError(f"table prices {table.weights} weights, not {weights or FP16} (pass --compress "
                         f"{table.weights}, or --allow-other-device to use it anyway)", file=table.source_name,
                         field="weights")
    return weights_note(table, weights)


def find_priced(device: str, unit: str, runtime: str | None = None, weights: str | None = None
                ) -> tuple[LatencyTable, str | None]:
    """The table that prices an export with ``weights`` (None or fp16: ``find_table``'s), and a note
    when it is not of that weight format (no table of ``weights`` exists: fp16's prices it)."""
    if weights in (None, FP16):
        return find_table(device, unit, runtime), None
    runtime = runtime or default_runtime(unit)
    every = _load_all(device, unit)          # loaded once for both picks
    try:
        return _compressed(every, device, unit, runtime, weights), None
    except NoTable:
        table = _fp16(every, device, unit, runtime)
        return table, weights_note(table, weights)
