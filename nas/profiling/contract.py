"""The bundle/results contract, enforced in Python on its own (no Swift build needed).

``nas-profiler validate-results`` (``ios_profiler``) checks a results file against
its manifest; ``nas tables import`` must not depend on that binary being built.
This module applies the same rules before anything is written:

* files: readable, UTF-8, strict JSON (no ``NaN``/``Infinity``, no number that
  overflows to infinity), objects where objects belong;
* manifest: the shared JSON schema, unique entry keys and overhead ids, known
  overhead references, ``max_runs >= min_runs``, and every model ``file`` inside
  the bundle folder (relative, no ``..``, no symlink leading out);
* results: one header (first line), a footer only as the last line whose count
  matches, every entry and overhead in the manifest and each at most once, the
  header's unit among the manifest's units, the header's weight format the
  manifest's (``weights``, fp16 when absent), every time finite and >= 0 (the
  schema says >= 0; finiteness is checked here because ``NaN >= 0`` is not false
  to a JSON-schema validator).
"""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath

from nas.compress import FP16
from nas.errors import NasError
from nas.fsutil import loads_json


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON number {name}")


def strict_json(text: str):
    """``json.loads`` that refuses NaN/Infinity and numbers too large for a float."""
    value = loads_json(text, parse_constant=_reject_constant)
    bad = _non_finite(value)
    if bad is not None:
        raise ValueError(f"{bad}: number out of range")
    return value


def _non_finite(v, where: str = "") -> str | None:
    if isinstance(v, float) and not math.isfinite(v):
        return where or "(root)"
    if isinstance(v, dict):
        for k, x in v.items():
            found = _non_finite(x, f"{where}/{k}" if where else str(k))
            if found:
                return found
    elif isinstance(v, list):
        for i, x in enumerate(v):
            found = _non_finite(x, f"{where}/{i}" if where else str(i))
            if found:
                return found
    return None


def read_text(path: str | os.PathLike, what: str) -> str:
    """A UTF-8 text file, or a NasError naming it."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NasError(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise NasError(f"{p}: {what} is a folder, expected a file") from None
    except UnicodeDecodeError as e:
        raise NasError(f"{p}: {what} is not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise NasError(f"{p}: cannot read the {what} ({e.strerror})") from None


def load_manifest(path: str | os.PathLike) -> dict:
    """Read and fully check a bundle's ``manifest.json``; raises NasError naming the file and field."""
    from nas.profiling.bundle import validate_manifest
    path = Path(path)
    try:
        manifest = strict_json(read_text(path, "manifest"))
    except ValueError as e:
        raise NasError(f"{path}: not a valid JSON manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise NasError(f"{path}: a manifest is a JSON object, got {type(manifest).__name__}")
    try:
        validate_manifest(manifest)
    except NasError as e:
        raise NasError(f"{path}: {e}") from None
    for problem in manifest_errors(manifest, path.parent):
        raise NasError(f"{path}: {problem}")
    return manifest


def manifest_errors(m: dict, bundle: Path) -> list[str]:
    """Rules the schema cannot express (as ``BundleValidator.semanticErrors``) plus paths inside ``bundle``."""
    errors = []
    keys, ids = set(), set()
    for e in m["entries"]:
        if e["key"] in keys:
            errors.append(f"entries: duplicate key {e['key']!r}")
        keys.add(e["key"])
    for o in m["overheads"]:
        if o["id"] in ids:
            errors.append(f"overheads: duplicate id {o['id']!r}")
        ids.add(o["id"])
    by_id = {o["id"]: o for o in m["overheads"]}
    for e in m["entries"]:
        oid = e.get("overhead")
        if oid is None:
            continue
        o = by_id.get(oid)
        if o is None:
            errors.append(f"entries: {e['key']!r} names unknown overhead {oid!r}")
        elif [t["shape"] for t in o["inputs"]] != [t["shape"] for t in e["inputs"]] or \
                [t["shape"] for t in o["outputs"]] != [t["shape"] for t in e["outputs"]]:
            errors.append(f"entries: {e['key']!r} and its overhead {oid!r} have different input/output shapes")
    for e in m["entries"]:  # whole networks (as BundleValidator.semanticErrors)
        net = e.get("network")
        if net is None:
            continue
        if "overhead" in e:
            errors.append(f"entries: network {e['key']!r} must not name an overhead (timed end to end)")
        for layer in net["layers"]:
            if layer not in keys:
                errors.append(f"entries: network {e['key']!r} has layer {layer!r}, which is not an entry")
    p = m["protocol"]
    if p["max_runs"] < p["min_runs"]:
        errors.append(f"protocol: max_runs ({p['max_runs']}) < min_runs ({p['min_runs']})")
    root = bundle.resolve()
    for what, item in [("entries", e) for e in m["entries"]] + [("overheads", o) for o in m["overheads"]]:
        f = item["file"]
        pure = PurePosixPath(f)
        if pure.is_absolute() or "\\" in f or ".." in pure.parts or f.startswith("~"):
            errors.append(f"{what}: file {f!r} leaves the bundle folder (must be a relative path inside it)")
        elif not (root / f).resolve().is_relative_to(root):
            errors.append(f"{what}: file {f!r} leads out of the bundle folder through a symbolic link")
    return errors


def results_errors(rows: list[dict], manifest: dict) -> list[str]:
    """The rules of ``ResultsChecker`` that do not depend on override flags (line numbers from 1)."""
    errors = []
    for i, r in enumerate(rows[1:], start=2):
        if r["kind"] == "header":
            errors.append(f"line {i}: a second header")
        if r["kind"] == "footer" and i != len(rows):
            errors.append(f"line {i}: a footer that is not the last line")
    unit = rows[0]["unit"]
    if unit not in manifest["units"]:
        errors.append(f"line 1: unit {unit!r} is not among the manifest's units {manifest['units']}")
    weights, wanted = rows[0].get("weights", FP16), manifest.get("weights", FP16)
    if weights != wanted:
        errors.append(f"line 1: weights {weights!r} are not the manifest's {wanted!r} (results of packages with "
                      f"another weight format)")
    known = {e["key"] for e in manifest["entries"]}
    ids = {o["id"] for o in manifest["overheads"]}
    seen: dict[str, int] = {}
    entries = 0
    for i, r in enumerate(rows, start=1):
        if r["kind"] == "entry":
            entries += 1
            if r["key"] not in known:
                errors.append(f"line {i}: entry {r['key']!r} is not in the manifest")
            if r["key"] in seen:
                errors.append(f"line {i}: entry {r['key']!r} appears twice (first at line {seen[r['key']]})")
            seen.setdefault(r["key"], i)
        elif r["kind"] == "overhead" and r["id"] not in ids:
            errors.append(f"line {i}: overhead {r['id']!r} is not in the manifest")
    footer = rows[-1] if rows[-1]["kind"] == "footer" else None
    if footer is not None and footer.get("entries") != entries:
        errors.append(f"line {len(rows)}: footer says {footer.get('entries')} entries, the file has {entries}")
    return errors
