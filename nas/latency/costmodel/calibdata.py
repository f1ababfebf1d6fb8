"""Calibration data: measured whole-model Core ML timings, checked and turned into rows.

Two formats are read.

**Whole-model timings** (the article's file, and any a user adds, e.g. from their own phone)::

    # optional: time_unit (s | ms, default s), source (free text)
    time_unit: s
    source: "my iPhone 11, iOS 17.5, 100-prediction mean"
    models:
      mobilenet_v2:              # a zoo model name, or any name with `arch: path/to/net.yaml`
        input: 224               # optional: input size if not the zoo model's
        iphone11: [0.019, 0.0185, 0.0051]    # [cpu, gpu, ane] = .cpuOnly, .cpuAndGPU, .all; null = not measured
        iphonexs: {cpu: 0.0229, gpu: 0.0284, ane: null}   # the same as a mapping

Every listed device needs all three units (null where not measured); negative or
non-numeric times are refused with the file and field named.

**Public timings** (``public_coreml_latency.yaml``): only sources listed in
``PUBLIC_SOURCES`` are used -- those with per-unit columns on one of the
calibrated chips -- and only rows this project can build (``builders``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from nas.arch.spec import NetSpec
from nas.arch.yaml_io import read_yaml
from nas.errors import SpecError
from nas.hardware.devices import DEVICES
from nas.latency.costmodel.builders import public_spec

CALIB_DIR = Path(__file__).resolve().parents[3] / "calibration"
DEFAULT_FILES = (CALIB_DIR / "coreml_iphone_latency_2020.yaml", CALIB_DIR / "public_coreml_latency.yaml")
UNITS = ("cpu", "gpu", "ane")
# public source id -> (phone whose chip it measured, why it is comparable)
PUBLIC_SOURCES = {
    "chernykh_zoo_iphone11pro": ("iphone11", "iPhone 11 Pro = A13 like the iPhone 11; iOS 13.5.1; per-unit "
                                 "columns .cpuOnly/.cpuAndGPU/.all (its ANE column is .all)"),
}
# Not used: chernykh iPhone 7 (A10, not a calibrated chip); tucan9389 (live camera through Vision,
# input size unknown, no averaging); coremltools docs / MobileOne / EfficientFormer (A14-A17 phones,
# iOS 15-17, .all only); efficientformer issue 9 (compute units not stated).
MAX_TIME = 1e6    # seconds or ms: more is no phone's inference time (and 1e308 s overflows to inf ms)
OBS_SIGMA = 0.1   # relative noise of a published mean (the article calls its numbers ballpark figures)


@dataclass(frozen=True)
class Row:
    """One measured whole-model time."""

    model: str
    family: str        # leave-one-model-out drops every row of the held-out family
    source: str        # file stem or public source id
    phone: str
    unit: str
    ms: float
    sigma: float       # log-space standard deviation (noise + rounding of the published value)
    spec: NetSpec
    article: bool      # from the whole-model-timings format (the CV is over these)
    device: str = ""   # the phone measured, where ``phone`` stands for its chip (today's regime)
    os: str = ""       # the OS major version the row records ("16", "17"), "" where not stated


def _decimals(v: float) -> int:
    s = repr(float(v))
    return 0 if "e" in s else len(s.split(".")[1].rstrip("0"))


def _sigma(v: float, decimals: int | None = None) -> float:
    res = 10.0 ** -(_decimals(v) if decimals is None else decimals)
    return math.hypot(OBS_SIGMA, res / math.sqrt(12) / v)


def _check_time(v, file: str, field: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not -MAX_TIME <= v <= MAX_TIME:
        raise SpecError(f"time must be a number (at most {MAX_TIME:g}) or null, got {str(v)[:40]!r}", file=file,
                        field=field)
    if v <= 0:
        raise SpecError(f"time must be positive, got {v}", file=file, field=field)
    return float(v)


def _int_field(v, file: str, field: str, top: int = 4096) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
        raise SpecError(f"must be an integer in 1..{top}, got {str(v)[:40]!r}", file=file, field=field)
    return v


def _arch_path(path: Path, arch, file: str, field: str) -> Path:
    """An ``arch:`` file named by a timings file: a relative path inside that file's folder."""
    folder = path.parent.resolve()
    target = (path.parent / arch).resolve() if isinstance(arch, str) else None
    if target is None or Path(arch).is_absolute() or ".." in Path(arch).parts or folder not in target.parents:
        raise SpecError(f"must be a path relative to the file's folder, inside it, got {str(arch)[:60]!r}",
                        file=file, field=field)
    return target


def load_timings(path: str | Path) -> tuple[list[Row], list[str]]:
    """Rows of a whole-model-timings file, and the names of models it lists but we cannot build."""
    from nas import zoo
    from nas.arch.yaml_io import load_net
    file = str(path)
    data = read_yaml(path)   # unreadable, non-UTF-8 or malformed: SpecError naming the file
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise SpecError("a calibration file is a mapping with `models:`", file=file, field="models")
    unit = data.get("time_unit", "s")
    scale = {"s": 1000.0, "ms": 1.0}.get(unit) if isinstance(unit, str) else None
    if scale is None:
        raise SpecError(f"time_unit must be s or ms, got {data.get('time_unit')!r}", file=file,
                        field="time_unit")
    rows, skipped = [], []
    for name, entry in data["models"].items():
        where = f"models.{name}"
        if not isinstance(entry, dict) or not isinstance(name, str):
            raise SpecError("each model is a mapping under a name", file=file, field=where)
        if not isinstance(entry.get("family", name), str):
            raise SpecError("must be text", file=file, field=f"{where}.family")
        measured = _parse_devices(entry, file, where)
        if entry.get("arch"):
            spec = load_net(_arch_path(Path(path), entry["arch"], file, f"{where}.arch"))
        elif name in zoo.names():
            spec = zoo.get(name).spec
        else:
            skipped.append(name)
            continue
        if entry.get("input") is not None and tuple(spec.input_size) != \
                (_int_field(entry["input"], file, f"{where}.input"),) * 2:
            spec = NetSpec(spec.name, (int(entry["input"]),) * 2, spec.stages, spec.in_channels)
        for phone, units in measured.items():
            for unit, v in units.items():
                if v is not None:
                    rows.append(Row(name, entry.get("family", name), Path(path).stem, phone, unit, v * scale,
                                    _sigma(v), spec, True))
    return rows, skipped


def _parse_devices(entry: dict, file: str, where: str) -> dict[str, dict[str, float | None]]:
    out = {}
    for key, raw in entry.items():
        if key not in DEVICES:
            continue
        f = f"{where}.{key}"
        if isinstance(raw, dict):
            missing = [u for u in UNITS if u not in raw]
            if missing:
                raise SpecError(f"missing unit {missing[0]!r} (give null when not measured)", file=file,
                                field=f"{f}.{missing[0]}")
            vals = {u: _check_time(raw[u], file, f"{f}.{u}") for u in UNITS}
        elif isinstance(raw, list):
            if len(raw) != 3:
                raise SpecError(f"needs three times [cpu, gpu, ane] (null when not measured), got {len(raw)}"
                                f"; missing unit {UNITS[len(raw)] if len(raw) < 3 else '?'!r}",
                                file=file, field=f)
            vals = {u: _check_time(v, file, f"{f}.{u}") for u, v in zip(UNITS, raw)}
        else:
            raise SpecError("expected [cpu, gpu, ane] or a mapping of unit to time", file=file, field=f)
        out[key] = vals
    return out


def load_public(path: str | Path) -> tuple[list[Row], list[str]]:
    """Rows from the public-timings file: usable sources and buildable models only."""
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SpecError("expected a mapping with a list of sources", file=file, field="sources")
    rows, skipped = [], []
    for si, src in enumerate(data["sources"]):
        if not isinstance(src, dict):
            raise SpecError("a source is a mapping", file=file, field=f"sources[{si}]")
        if not isinstance(src.get("id"), str) or src["id"] not in PUBLIC_SOURCES:
            continue
        phone = PUBLIC_SOURCES[src["id"]][0]
        src_rows = src.get("rows", [])
        if not isinstance(src_rows, list):
            raise SpecError("expected a list of rows", file=file, field=f"sources.{src['id']}.rows")
        for i, r in enumerate(src_rows):
            if not isinstance(r, dict) or not isinstance(r.get("model"), str):
                raise SpecError("a row is a mapping with a model name", file=file,
                                field=f"sources.{src['id']}.rows[{i}].model")
            at = f"sources.{src['id']}.rows[{i}]"
            if r.get("input") is not None:
                _int_field(r["input"], file, f"{at}.input")
            width = r.get("width")
            if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float))
                                      or not 0.05 <= width <= 4):
                raise SpecError(f"width must be a number in 0.05..4, got {str(width)[:40]!r}", file=file,
                                field=f"{at}.width")
            spec = public_spec(r["model"], width, r.get("input"))
            if spec is None:
                skipped.append(f"{src['id']}:{r['model']}")
                continue
            family = "vgg" if r["model"].startswith("vgg") else r["model"]
            for unit in UNITS:
                v = _check_time(r.get(f"{unit}_ms"), file, f"sources.{src['id']}.rows[{i}].{unit}_ms")
                if v is not None:
                    rows.append(Row(spec.name, family, src["id"], phone, unit, v, _sigma(v), spec, False))
    return rows, skipped


def load_all(paths) -> tuple[list[Row], dict[str, list[str]]]:
    """Rows of every file (public format recognised by its ``sources:`` key), and what was skipped."""
    rows, skipped = [], {}
    for p in paths:
        if not Path(p).exists():
            raise SpecError("calibration file not found", file=str(p))
        data = read_yaml(p)     # non-UTF-8 or malformed: SpecError naming the file (and line)
        is_public = isinstance(data, dict) and "sources" in data
        r, s = (load_public if is_public else load_timings)(p)
        rows += r
        skipped[str(p)] = s
    return rows, skipped
