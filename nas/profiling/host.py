"""Apple-only paths, kept thin: a connected iPhone driven with ``xcrun devicectl``, and a Mac's own
Core ML measured with coremltools. Neither could run where this was written (Linux); see the
README's "What runs only on macOS".
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from nas.errors import NasError

APP_ID = "org.example.nasprofiler"  # the host app's bundle identifier (ios_profiler/README.md)


def is_macos() -> bool:
    return platform.system() == "Darwin"


def connected_udid() -> str | None:
    """The first connected, paired device's UDID, from ``xcrun devicectl list devices``."""
    if not is_macos() or shutil.which("xcrun") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        r = subprocess.run(["xcrun", "devicectl", "list", "devices", "--json-output", f.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        data = json.loads(Path(f.name).read_text() or "{}")
    for d in data.get("result", {}).get("devices", []):
        if d.get("connectionProperties", {}).get("tunnelState") in ("connected", "available"):
            return d.get("hardwareProperties", {}).get("udid") or d.get("identifier")
    return None


def instructions(bundle: Path, unit: str) -> str:
    """What to run on a Mac (the same steps ``run_on_device`` takes)."""
    out = f"results-{unit}.jsonl"
    return "\n".join([
        f"Profiling bundle written: {bundle.resolve()}",
        "On a Mac with the iPhone connected (ios_profiler/README.md, 'Running on a phone'):",
        f"  UDID=$(xcrun devicectl list devices)   # pick the phone's identifier; APP_ID={APP_ID}",
        f"  xcrun devicectl device copy to --device $UDID --domain-type appDataContainer "
        f"--domain-identifier {APP_ID} --source {bundle.name} --destination Documents/bundle",
        f"  xcrun devicectl device process launch --device $UDID --terminate-existing {APP_ID} -- "
        f"--bundle bundle --unit {unit} --out {out}",
        f"  xcrun devicectl device copy from --device $UDID --domain-type appDataContainer "
        f"--domain-identifier {APP_ID} --source Documents/{out} --destination {out}",
        f"  nas tables import {out} --manifest {bundle.name}/manifest.json --out TABLE.yaml",
    ])


def _devicectl(*args: str) -> None:
    r = subprocess.run(["xcrun", "devicectl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise NasError(f"xcrun devicectl {' '.join(args[:3])} failed: {(r.stderr or r.stdout).strip()}")


def run_on_device(udid: str, bundle: Path, unit: str, dest: Path, *, poll_s: float = 10.0,
                  timeout_s: float = 6 * 3600) -> Path:
    """Copy the bundle to the host app, launch it, and fetch the results once the footer is written."""
    out = f"results-{unit}.jsonl"
    box = ["--device", udid, "--domain-type", "appDataContainer", "--domain-identifier", APP_ID]
    _devicectl("device", "copy", "to", *box, "--source", str(bundle), "--destination", "Documents/bundle")
    _devicectl("device", "process", "launch", "--device", udid, "--terminate-existing", APP_ID, "--",
               "--bundle", "bundle", "--unit", unit, "--out", out)
    start = time.time()
    while time.time() - start < timeout_s:
        time.sleep(poll_s)
        try:
            _devicectl("device", "copy", "from", *box, "--source", f"Documents/{out}", "--destination", str(dest))
        except NasError:
            continue
        lines = dest.read_text().splitlines()
        if lines and '"kind": "footer"' in lines[-1].replace('"kind":"footer"', '"kind": "footer"'):
            return dest
    raise NasError(f"no complete results after {timeout_s:.0f} s; fetch {out} later and `nas tables import` it")


def measure_on_mac(entries, unit: str, protocol) -> dict:
    """Time each entry's Core ML package on this Mac with coremltools' predict (macOS only)."""
    if not is_macos():
        raise NasError("--device mac measures with Core ML, which only runs on macOS; elsewhere use "
                       "--device local, or write a bundle for an iPhone and run it on a Mac")
    import numpy as np
    import coremltools as ct
    from nas.profiling.measure import measure, summarize
    units = {"cpu": ct.ComputeUnit.CPU_ONLY, "gpu": ct.ComputeUnit.CPU_AND_GPU, "ane": ct.ComputeUnit.ALL,
             "cpu_and_ane": ct.ComputeUnit.CPU_AND_NE}
    calls = []
    for path, in_shape in entries:
        model = ct.models.MLModel(str(path), compute_units=units[unit])
        x = {"x": np.random.default_rng(0).uniform(-1, 1, (1, *in_shape)).astype(np.float16)}
        calls.append(lambda m=model, x=x: m.predict(x))
    return {str(p): summarize(s) for (p, _), s in zip(entries, measure(calls, protocol))}
