"""Kept for imports written before the registry moved: the device registry is ``nas.hardware.devices``."""

from nas.hardware.devices import COREML_UNITS, DEVICES, Device, get_device, matches

__all__ = ["COREML_UNITS", "DEVICES", "Device", "get_device", "matches"]
