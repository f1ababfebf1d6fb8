"""Which Core ML compute-units setting a latency table's times mean (``MLComputeUnits``).

A table's ``unit`` names where the search may place a network (``cpu``, ``gpu``,
``ane``, ``all``); the setting its times were taken with is a separate fact, and
for ``ane`` the two sources of tables differ:

* measured tables (``nas tables import``) were timed by the Swift harness with
  ``ane`` = ``.cpuAndNeuralEngine`` (never the GPU), ``all`` = ``.all`` ...
  (``nas.hardware.devices.COREML_UNITS``); the importer records the setting as
  ``provenance.compute_units``;
* the shipped predicted ``ane`` tables (both regimes) are fitted to published
  whole-model timings taken with ``.all`` (Core ML's default: every public
  source, and the article's "ANE" column); today's calibration records
  ``compute_units: MLComputeUnits.all`` in them. Their ``cpu`` / ``gpu`` tables
  come from ``.cpuOnly`` / ``.cpuAndGPU`` columns.

Older files without the field get the setting their kind implies (``recorded``
False). ``nas latency`` prints and returns it; ``find_table(device, "all")`` falls
back to a predicted ``ane`` table whose times are ``.all``. See docs/latency-tables.md.
"""

from __future__ import annotations

from nas.hardware.devices import COREML_UNITS

PREFIX = "MLComputeUnits."
PREDICTED = {"cpu": "cpuOnly", "gpu": "cpuAndGPU", "ane": "all", "all": "all"}   # what the calibrations used


def compute_units(table) -> tuple[str | None, bool]:
    """(``MLComputeUnits`` case name such as ``all`` / ``cpuAndNeuralEngine``, or None for local runtimes;
    whether the table records it rather than it being implied by the table's kind)."""
    value = (table.provenance or {}).get("compute_units")
    if isinstance(value, str) and value:
        return value.removeprefix(PREFIX), True
    if table.unit == "cpu_and_ane":
        return "cpuAndNeuralEngine", False
    if table.method == "predicted":
        return PREDICTED.get(table.unit), False
    return COREML_UNITS.get(table.unit), False


def describe(table) -> str:
    """``.all`` / ``.cpuAndNeuralEngine (implied)`` for printing; empty for local runtimes."""
    value, recorded = compute_units(table)
    return "" if value is None else f".{value}" + ("" if recorded else " (implied)")
