"""Device names the CLI accepts, their hardware identifiers and chips.

``iphone11`` is what users type; ``iPhone12,1`` is what the phone reports
(``sysctl hw.machine``); results from a phone whose identifier is not listed
for the asked device are refused unless the user says otherwise.
Chips: shared/data/apple_soc_specs.yaml (devices per chip, from
hollance/neural-engine docs/supported-devices.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.errors import NasError


@dataclass(frozen=True)
class Device:
    name: str
    marketing: str
    hardware_ids: tuple[str, ...]
    chip: str
    ane_for_third_party: bool   # A11's Neural Engine is not used by third-party Core ML (ane-rules G1)


DEVICES = {d.name: d for d in (
    Device("iphonex", "iPhone X", ("iPhone10,3", "iPhone10,6"), "A11", False),
    Device("iphone8", "iPhone 8", ("iPhone10,1", "iPhone10,4"), "A11", False),
    Device("iphonexs", "iPhone XS", ("iPhone11,2",), "A12", True),
    Device("iphonexsmax", "iPhone XS Max", ("iPhone11,4", "iPhone11,6"), "A12", True),
    Device("iphonexr", "iPhone XR", ("iPhone11,8",), "A12", True),
    Device("iphone11", "iPhone 11", ("iPhone12,1",), "A13", True),
    Device("iphone11pro", "iPhone 11 Pro", ("iPhone12,3",), "A13", True),
    Device("iphone11promax", "iPhone 11 Pro Max", ("iPhone12,5",), "A13", True),
    Device("iphone12", "iPhone 12", ("iPhone13,2",), "A14", True),
    Device("iphone13", "iPhone 13", ("iPhone14,5",), "A15", True),
    Device("iphone14", "iPhone 14", ("iPhone14,7",), "A15", True),
    Device("iphone15", "iPhone 15", ("iPhone15,4",), "A16", True),
    Device("mac", "a Mac", ("Mac*",), "M-series or Intel", True),
)}

# Core ML compute-unit names used everywhere (CLI, tables, harness): ane is CPU + Neural Engine (no GPU);
# all lets Core ML choose among CPU, GPU and Neural Engine -- the reference article's "ANE" column, and
# what the shipped *predicted* ane tables were fitted to. (Older files may say cpu_and_ane for ane.)
COREML_UNITS = {"cpu": "cpuOnly", "gpu": "cpuAndGPU", "ane": "cpuAndNeuralEngine", "all": "all"}


def get_device(name: str) -> Device:
    try:
        return DEVICES[name]
    except KeyError:
        raise NasError(f"unknown device {name!r}; known: {', '.join(DEVICES)} (or 'local' for this "
                       f"machine's CPU)") from None


def matches(device: Device, hardware_id: str) -> bool:
    return any(hardware_id.startswith(h[:-1]) if h.endswith("*") else hardware_id == h
               for h in device.hardware_ids)
