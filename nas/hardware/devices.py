"""Device names the CLI accepts, their hardware identifiers and chips.

``iphone11`` is what users type; ``iPhone12,1`` is what the phone reports
(``sysctl hw.machine``); results from a phone whose identifier is not listed
for the asked device are refused unless the user says otherwise.
Chips: calibration/apple_soc_specs.yaml (a copy of shared/data/apple_soc_specs.yaml;
devices per chip from hollance/neural-engine docs/supported-devices.md).
Hardware identifiers (``hw.machine``) of the A14-and-later phones: Apple's model
identifiers as listed in public device-name tables (several open-source iOS
projects agree on them; the iPhone SE (3rd gen) and iPhone 16 family as in
devicekit/DeviceKit Source/Device.swift.gyb, snapshot 56b997e, March 2026; the iPhone SE (2nd gen),
iPhone 17 family, iPhone Air and iPhone 17e as in its snapshot 00b7c0f).
``gpu_cores`` is set only where one chip ships with different GPU core counts
(A15: 4 in iPhone 13/13 mini/SE 3rd gen, 5 in 13 Pro/Pro Max and 14/14 Plus -- the shared specs
file says 4 for the 14; post-launch reports say 5, see the A15 gpu_cores note; A18: 5 in iPhone 16/16 Plus,
4 in 16e; A19: 5 in iPhone 17, 4 in 17e; A19 Pro: 6 in 17 Pro / Pro Max, 5 in iPhone Air; specs file).
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
    gpu_cores: int | None = None   # this phone's GPU core count where its chip has variants


DEVICES = {d.name: d for d in (
    Device("iphonex", "iPhone X", ("iPhone10,3", "iPhone10,6"), "A11", False),
    Device("iphone8", "iPhone 8", ("iPhone10,1", "iPhone10,4"), "A11", False),
    Device("iphonexs", "iPhone XS", ("iPhone11,2",), "A12", True),
    Device("iphonexsmax", "iPhone XS Max", ("iPhone11,4", "iPhone11,6"), "A12", True),
    Device("iphonexr", "iPhone XR", ("iPhone11,8",), "A12", True),
    Device("iphone11", "iPhone 11", ("iPhone12,1",), "A13", True),
    Device("iphone11pro", "iPhone 11 Pro", ("iPhone12,3",), "A13", True),
    Device("iphone11promax", "iPhone 11 Pro Max", ("iPhone12,5",), "A13", True),
    Device("iphonese2", "iPhone SE (2nd generation)", ("iPhone12,8",), "A13", True),
    Device("iphone12mini", "iPhone 12 mini", ("iPhone13,1",), "A14", True),
    Device("iphone12", "iPhone 12", ("iPhone13,2",), "A14", True),
    Device("iphone12pro", "iPhone 12 Pro", ("iPhone13,3",), "A14", True),
    Device("iphone12promax", "iPhone 12 Pro Max", ("iPhone13,4",), "A14", True),
    Device("iphone13mini", "iPhone 13 mini", ("iPhone14,4",), "A15", True, 4),
    Device("iphone13", "iPhone 13", ("iPhone14,5",), "A15", True, 4),
    Device("iphone13pro", "iPhone 13 Pro", ("iPhone14,2",), "A15", True, 5),
    Device("iphone13promax", "iPhone 13 Pro Max", ("iPhone14,3",), "A15", True, 5),
    Device("iphone14", "iPhone 14", ("iPhone14,7",), "A15", True, 5),
    Device("iphone14plus", "iPhone 14 Plus", ("iPhone14,8",), "A15", True, 5),
    Device("iphone14pro", "iPhone 14 Pro", ("iPhone15,2",), "A16", True),
    Device("iphone14promax", "iPhone 14 Pro Max", ("iPhone15,3",), "A16", True),
    Device("iphone15", "iPhone 15", ("iPhone15,4",), "A16", True),
    Device("iphone15plus", "iPhone 15 Plus", ("iPhone15,5",), "A16", True),
    Device("iphone15pro", "iPhone 15 Pro", ("iPhone16,1",), "A17_Pro", True),
    Device("iphone15promax", "iPhone 15 Pro Max", ("iPhone16,2",), "A17_Pro", True),
    Device("iphonese3", "iPhone SE (3rd generation)", ("iPhone14,6",), "A15", True, 4),
    Device("iphone16", "iPhone 16", ("iPhone17,3",), "A18", True, 5),
    Device("iphone16plus", "iPhone 16 Plus", ("iPhone17,4",), "A18", True, 5),
    Device("iphone16e", "iPhone 16e", ("iPhone17,5",), "A18", True, 4),
    Device("iphone16pro", "iPhone 16 Pro", ("iPhone17,1",), "A18_Pro", True),
    Device("iphone16promax", "iPhone 16 Pro Max", ("iPhone17,2",), "A18_Pro", True),
    Device("iphone17", "iPhone 17", ("iPhone18,3",), "A19", True, 5),
    Device("iphone17e", "iPhone 17e", ("iPhone18,5",), "A19", True, 4),
    Device("iphoneair", "iPhone Air", ("iPhone18,4",), "A19_Pro", True, 5),
    Device("iphone17pro", "iPhone 17 Pro", ("iPhone18,1",), "A19_Pro", True, 6),
    Device("iphone17promax", "iPhone 17 Pro Max", ("iPhone18,2",), "A19_Pro", True, 6),
    Device("mac", "a Mac", ("Mac*",), "M-series or Intel", True),
)}

# Phones whose chip figures (chip, GPU cores) equal another's: a prediction from chip figures is the same, so
# they share that phone's predicted tables (``nas.latency.store.find_table``); measured tables stay per phone.
SAME_FIGURES = {"iphone12mini": "iphone12", "iphone12pro": "iphone12", "iphone12promax": "iphone12",
                "iphone13mini": "iphone13", "iphone13promax": "iphone13pro", "iphone14plus": "iphone14",
                "iphone14pro": "iphone15", "iphone14promax": "iphone15", "iphone15plus": "iphone15",
                "iphone15promax": "iphone15pro", "iphonese3": "iphone13", "iphone16plus": "iphone16",
                "iphone16promax": "iphone16pro", "iphonexsmax": "iphonexs", "iphonexr": "iphonexs",
                "iphone11pro": "iphone11", "iphone11promax": "iphone11", "iphonese2": "iphone11",
                "iphone17promax": "iphone17pro", "iphone8": "iphonex"}

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
