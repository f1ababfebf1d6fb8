"""Apple-only paths, kept thin: a connected iPhone driven with ``xcrun devicectl``, and a Mac's own
Core ML measured by the same Swift harness (``nas-profiler profile``). Neither could run where this
was written (Linux); the pure pieces -- reading ``devicectl``'s device list, deciding whether a
fetched results file is this bundle's and complete, the printed commands -- are tested here
(tests/test_host.py) on device lists of the shape Apple's ``devicectl`` writes.

``devicectl list devices --json-output FILE`` writes ``{"result": {"devices": [...]}}``; per device
``identifier`` (the CoreDevice id ``--device`` takes), ``hardwareProperties`` (``platform`` "iOS",
``reality`` "physical", ``productType`` "iPhone12,1", ``udid``) and ``connectionProperties``
(``pairingState`` "paired", ``tunnelState`` "connected" | "disconnected" | "unavailable",
``transportType`` "wired" | "localNetwork" when reachable). "disconnected" is a paired, reachable
phone whose tunnel is idle -- devicectl brings the tunnel up on the next command -- so it is usable;
"unavailable" is not. Stale pairing records may lack ``reality``; they are kept when the rest fits.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from nas.errors import NasError
from nas.fsutil import loads_json

APP_ID = "org.example.nasprofiler"  # the host app's bundle identifier (ios_profiler/README.md)
SWIFT_DIR = Path(__file__).resolve().parents[2] / "ios_profiler"

# The phone picker of the printed instructions: the same rule as usable_devices, in plain python3
# (macOS ships it with Xcode's command-line tools), so it runs on a Mac without nas installed.
PICK_UDID = ("import json;ds=json.load(open('devices.json'))['result']['devices'];"
             "ok=[d for d in ds if d.get('hardwareProperties',{}).get('platform')=='iOS' "
             "and d.get('hardwareProperties',{}).get('reality','physical')=='physical' "
             "and d.get('connectionProperties',{}).get('pairingState')=='paired' "
             "and d.get('connectionProperties',{}).get('tunnelState') in ('connected','disconnected')];"
             "print(ok[0]['identifier'] if ok else '')")


def is_macos() -> bool:
    return platform.system() == "Darwin"


def usable_devices(data: dict, hardware_ids: tuple[str, ...] = ()) -> list[dict]:
    """The paired, reachable, physical iOS devices of a ``devicectl list devices`` JSON document, best
    first: a phone of the asked model (``hardware_ids``) before others, an up tunnel before an idle one,
    a cable before the network. Each is ``{"id", "udid", "name", "product", "tunnel"}``."""
    found = []
    for d in (data.get("result") or {}).get("devices") or []:
        hw, conn = d.get("hardwareProperties") or {}, d.get("connectionProperties") or {}
        if hw.get("platform") != "iOS" or hw.get("reality", "physical") != "physical":
            continue
        if conn.get("pairingState") != "paired" or conn.get("tunnelState") not in ("connected", "disconnected"):
            continue
        ident = d.get("identifier") or hw.get("udid")
        if not ident:
            continue
        found.append({"id": ident, "udid": hw.get("udid"), "name": (d.get("deviceProperties") or {}).get("name"),
                      "product": hw.get("productType"), "tunnel": conn.get("tunnelState"),
                      "transport": conn.get("transportType")})
    found.sort(key=lambda x: (bool(hardware_ids) and x["product"] not in hardware_ids, x["tunnel"] != "connected",
                              x["transport"] != "wired"))
    return found


def connected_udid(hardware_ids: tuple[str, ...] = ()) -> str | None:
    """The best usable phone's identifier (``usable_devices``), or None (not a Mac, no phone)."""
    if not is_macos() or shutil.which("xcrun") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "devices.json"
        r = subprocess.run(["xcrun", "devicectl", "list", "devices", "--json-output", str(path)],
                           capture_output=True, text=True)
        if r.returncode != 0 or not path.exists():
            return None
        try:
            data = loads_json(path.read_text() or "{}")
        except ValueError:
            return None
    found = usable_devices(data, hardware_ids)
    return found[0]["id"] if found else None


def results_name(unit: str, bundle_id: str) -> str:
    """The results file's name in the app's Documents: per bundle, so a file another bundle left there
    is never fetched as this one's."""
    return f"results-{unit}-{bundle_id[:12]}.jsonl"


def complete_results(path: Path, bundle_id: str) -> bool:
    """True when ``path`` is a results file of bundle ``bundle_id`` that ends with its footer."""
    try:
        lines = [l for l in Path(path).read_text().splitlines() if l.strip()]
        header, last = loads_json(lines[0]), loads_json(lines[-1])
    except (OSError, IndexError, ValueError):      # ValueError: not JSON, not UTF-8, nested too deeply
        return False
    if not isinstance(header, dict) or not isinstance(last, dict):
        return False
    return header.get("kind") == "header" and header.get("bundle_id") == bundle_id and last.get("kind") == "footer"


def instructions(bundle: Path, unit: str, bundle_id: str) -> str:
    """What to run on a Mac (the same steps ``run_on_device`` takes)."""
    out = results_name(unit, bundle_id)
    return "\n".join([
        f"Profiling bundle written: {bundle.resolve()}",
        "On a Mac with the iPhone connected (ios_profiler/README.md, 'Running on a phone'):",
        "  xcrun devicectl list devices --json-output devices.json >/dev/null",
        f"  UDID=$(python3 -c \"{PICK_UDID}\")   # the first paired iPhone; APP_ID={APP_ID}",
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


def run_on_device(udid: str, bundle: Path, unit: str, bundle_id: str, dest: Path, *, poll_s: float = 10.0,
                  timeout_s: float = 6 * 3600) -> Path:
    """Copy the bundle to the host app, launch it, and fetch the results once this bundle's footer is written."""
    out = results_name(unit, bundle_id)
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
        if complete_results(dest, bundle_id):
            return dest
    raise NasError(f"no complete results after {timeout_s:.0f} s; fetch {out} later and `nas tables import` it")


def mac_profiler() -> Path:
    """The harness built for this Mac (``swift build -c release`` in ios_profiler/ when missing)."""
    exe = SWIFT_DIR / ".build" / "release" / "nas-profiler"
    if not exe.exists():
        if shutil.which("swift") is None:
            raise NasError("--device mac runs the Swift harness (ios_profiler): install Xcode 16+ or its "
                           "command-line tools so that `swift` is on PATH")
        r = subprocess.run(["swift", "build", "-c", "release"], cwd=SWIFT_DIR, capture_output=True, text=True)
        if r.returncode != 0:
            raise NasError(f"swift build -c release in {SWIFT_DIR} failed: {r.stderr.strip()[-2000:]}")
    return exe


def mac_profile_command(exe: Path, bundle: Path, unit: str, out: Path) -> list[str]:
    """The harness run for one unit on this Mac: the iPhone's protocol, clock (wall time of a
    synchronous prediction) and fp16 inputs as the models declare them; resumes an interrupted run."""
    return [str(exe), "profile", str(bundle), "--unit", unit, "--out", str(out), "--resume"]


def require_macos() -> None:
    """``--device mac`` needs Core ML: refuse it elsewhere (the CLI asks before writing a bundle)."""
    if not is_macos():
        raise NasError("--device mac measures with Core ML, which only runs on macOS; elsewhere use "
                       "--device local, or write a bundle for an iPhone and run it on a Mac")


def run_on_mac(bundle: Path, unit: str, out: Path) -> Path:
    """Measure the bundle with Core ML on this Mac (macOS only). Not coremltools' ``predict``: it casts
    fp16 numpy inputs to fp32 (coremltools/models/model.py, ``_update_float16_multiarray_input_to_float32``)
    on every call, so its timings are not like for like with the phone's."""
    require_macos()
    r = subprocess.run(mac_profile_command(mac_profiler(), bundle, unit, out), text=True)
    if r.returncode != 0:
        raise NasError(f"nas-profiler profile failed on {bundle} (exit {r.returncode}); rerun the same command "
                       f"to resume")
    return out
