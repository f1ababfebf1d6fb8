"""``nas tables import``: the harness's results file (JSON Lines) -> a measured latency table.

Every line is validated against ``#/$defs/<kind>`` of
``ios_profiler/schema/results.schema.json``, and the manifest and the file
against the rest of the harness's contract (``nas.profiling.contract``: no
NaN/inf, one header, no duplicate entries, model files inside the bundle) in
Python; the harness's own checker, ``nas-profiler validate-results``, runs too
when a Swift build is found. A
file from a phone whose hardware id is not the manifest device's is refused
unless ``allow_other_device``. The ``__network_call__`` entry becomes the
table's per-network overhead; every op entry's ``latency_ms`` (its median
less its overhead model's) is its isolated time. Whole networks (manifest
entries with ``network``) fit the in-network correction and give the
validation figures (``nas.profiling.netcheck``); the table's entries are the
corrected times. A simulated run (``device.runtime`` "simulated") imports as
``method: simulated``. The manifest's weight format (``weights``: fp16 when absent)
becomes the table's; a results header that names another is refused
(``nas.profiling.contract.results_errors``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from nas.compress import COMPRESSIONS, FP16, THRESHOLD
from nas.errors import NasError
from nas.fsutil import loads_json
from nas.latency.table import LatencyTable, Stat
from nas.hardware.devices import COREML_UNITS, get_device, matches
from nas.latency.regime import regime_for
from nas.profiling import netcheck
from nas.profiling.bundle import MODEL_FORMAT, NETWORK_CALL, SCHEMA_DIR
from nas.profiling.contract import load_manifest, read_text, results_errors, strict_json
from nas.profiling.resultcheck import row_problem

COMPUTE_UNITS = {u: f"MLComputeUnits.{v}" for u, v in COREML_UNITS.items()} | {
    "cpu_and_ane": "MLComputeUnits.cpuAndNeuralEngine"}

RESULTS_SCHEMA = "nas.profiling.results/1"
SWIFT_DIR = Path(__file__).resolve().parents[2] / "ios_profiler"


def read_results(path: str | os.PathLike) -> list[dict]:
    """Parse and schema-check every line; a torn last line (an interrupted run) is dropped."""
    import jsonschema
    schema = loads_json((SCHEMA_DIR / "results.schema.json").read_text())
    lines = read_text(path, "results file").splitlines()
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = strict_json(line)
        except ValueError as e:
            if i == len(lines) and isinstance(e, json.JSONDecodeError):
                break
            raise NasError(f"{path}: line {i} is not valid JSON ({e})") from None
        kind = row.get("kind") if isinstance(row, dict) else None
        if kind not in ("header", "overhead", "entry", "footer"):
            raise NasError(f"{path}: line {i}: kind must be header, overhead, entry or footer, got {kind!r}")
        validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]})
        err = jsonschema.exceptions.best_match(validator.iter_errors(row))
        if err is not None:
            where = "/".join(map(str, err.absolute_path)) or kind
            raise NasError(f"{path}: line {i} ({kind}): {where}: {err.message}")
        problem = row_problem(row)
        if problem:
            raise NasError(f"{path}: line {i} ({kind}): {problem}")
        rows.append(row)
    if not rows or rows[0]["kind"] != "header":
        raise NasError(f"{path}: the first line must be the header")
    return rows


def swift_profiler() -> Path | None:
    """The built ``nas-profiler`` binary, if there is one."""
    for sub in ("release", "debug"):
        p = SWIFT_DIR / ".build" / sub / "nas-profiler"
        if p.exists():
            return p
    found = shutil.which("nas-profiler")
    return Path(found) if found else None


def swift_validate(results: Path, manifest: Path, allow_other_device: bool) -> str:
    """Run the harness's checker; returns a message saying what was done."""
    exe = swift_profiler()
    if exe is None:
        return "skipped nas-profiler validate-results (no Swift build; `cd ios_profiler && swift build`)"
    cmd = [str(exe), "validate-results", str(results), "--manifest", str(manifest)]
    if allow_other_device:
        cmd.append("--allow-other-device")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise NasError(f"nas-profiler validate-results refused {results}: {(r.stderr or r.stdout).strip()}")
    return "nas-profiler validate-results: ok"


def import_results(results: str | os.PathLike, manifest_path: str | os.PathLike, *,
                   allow_other_device: bool = False) -> tuple[LatencyTable, list[str]]:
    """Build a measured table from a results file; returns it with notes for the user."""
    results, manifest_path = Path(results), Path(manifest_path)
    manifest = load_manifest(manifest_path)          # schema, semantics, files inside the bundle
    rows = read_results(results)
    problems = results_errors(rows, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NasError(f"{results}: {problems[0]}{more}")
    header = rows[0]
    notes = [swift_validate(results, manifest_path, allow_other_device)]
    if header["bundle_id"] != manifest["bundle_id"]:
        raise NasError(f"{results}: bundle_id {header['bundle_id'][:12]}… is not the manifest's "
                       f"{manifest['bundle_id'][:12]}… (results of another bundle)")
    device = get_device(manifest["device"])
    hw = header["device"]["hardware_id"]
    if not matches(device, hw):
        msg = (f"{results}: measured on {hw!r}, but the bundle is for {device.name} "
               f"({', '.join(device.hardware_ids)})")
        if not allow_other_device:
            raise NasError(msg + "; pass --allow-other-device to import it anyway")
        notes.append("warning: " + msg)
    keys = {e["key"] for e in manifest["entries"]}
    net_keys = {e["key"] for e in manifest["entries"] if "network" in e}
    entries: dict[str, Stat] = {}
    net_ms: dict[str, float] = {}
    overhead = None
    for r in rows:
        if r["kind"] != "entry":
            continue
        if r["key"] not in keys:
            raise NasError(f"{results}: entry {r['key']!r} is not in the manifest")
        s, o = r["stats"], r["overhead_ms"]
        if r["key"] in net_keys:
            net_ms[r["key"]] = s["median_ms"]
            continue
        extra = {"overhead_ms": o, "load_ms": r["load_ms"], "thermal_state": r["thermal_state"]}
        if r["planned_device"] not in ("unknown",):
            extra["unit_used"] = r["planned_device"]
        stat = Stat(r["latency_ms"], max(0.0, s["p10_ms"] - o), max(0.0, s["p90_ms"] - o), s["mad_ms"], s["n"],
                    extra)
        if r["key"].startswith(NETWORK_CALL + "@"):
            overhead = Stat(s["median_ms"], s["p10_ms"], s["p90_ms"], s["mad_ms"], s["n"])
        else:
            entries[r["key"]] = stat
    missing = sorted(k for k in keys - set(entries) - net_keys if not k.startswith(NETWORK_CALL + "@"))
    if missing:
        notes.append(f"warning: {len(missing)} bundle entries have no result (first: {missing[0]}); "
                     f"`nas-profiler profile … --resume` measures them")
    if overhead is None:
        overs = sorted(r["stats"]["median_ms"] for r in rows if r["kind"] == "overhead")
        if not overs:
            raise NasError(f"{results}: no {NETWORK_CALL} entry and no overhead lines: no per-network overhead")
        overhead = Stat(overs[0], n=1, extra={"from": "smallest overhead model"})
        notes.append("warning: no network-call entry; the smallest overhead model is the network overhead")
    d = header["device"]
    method = "simulated" if d["runtime"] == "simulated" else "measured"
    entries, checked, net_notes = netcheck.check(manifest, entries, overhead, net_ms,
                                                 netcheck.table_maker(manifest["device"], header["unit"], method,
                                                                      overhead))
    notes += net_notes
    provenance = {"hardware": d["hardware_id"], "os": d["os"], "runtime": d["runtime"],
                  "runtime_version": d["runtime_version"], "date": header["started"][:10],
                  "started": header["started"], "harness": header["harness"], "bundle_id": header["bundle_id"],
                  "precision": manifest["precision"],
                  "protocol": dict(header["protocol"]) | {"statistic": "median", "overhead": "same-shape "
                                                          "overhead model subtracted per entry"},
                  "results_file": results.name, "compute_units": COMPUTE_UNITS.get(header["unit"], header["unit"])}
    weights = manifest.get("weights", FP16)
    if weights != FP16:
        provenance["weights"] = (f"{weights}: {COMPRESSIONS[weights].what}, weight tensors of >= {THRESHOLD} "
                                 f"elements compressed as nas export --compress does (coremltools post-training)")
    if method == "simulated":
        provenance["note"] = "simulated run (nas-profiler profile --simulate): tests the pipeline, not a measurement"
    provenance |= checked
    fmt = manifest.get("format", MODEL_FORMAT)
    try:
        runtime = regime_for(fmt, d["os"])   # the bundle's model format + the phone's OS
    except NasError:
        runtime = regime_for(fmt, "iOS 16")
        notes.append(f"warning: OS {d['os']!r} is not an iOS/macOS version; runtime set to {runtime} (the "
                     f"bundle's {fmt} regime on iOS 16+)")
    return LatencyTable(manifest["device"], header["unit"], method, provenance, overhead, entries,
                        runtime=runtime, weights=weights), notes
