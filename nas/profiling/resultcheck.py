"""Values of a results file that its JSON schema lets through but a table must not carry (``nas tables import``).

``ios_profiler/schema/results.schema.json`` checks types, required keys, ``>= 0`` and the timestamps' pattern. It
let through (hostile11, each imported into a table before this check):

- a ``device.runtime`` the harness never writes (it writes ``Core ML``, or ``simulated`` for a simulated run):
  ``TensorFlow Lite`` results became a measured Core ML table;
- text with a control character (``device.os`` with an escape sequence, a newline in ``runtime_version``):
  carried into the table's provenance and printed by ``tables show`` as terminal commands;
- a timestamp of the right shape but no date (``9999-99-99T99:99:99Z``): the table's ``date``;
- huge numbers: ``stats.n`` of 10^30 was written into a table that every later load refused (``n`` at most
  10^9, ``nas.latency.table.MAX_N``); times of 1e300 ms and protocol counts of 10^30 passed as measurements.

A time here is at most ``MAX_MS`` (1000 s for one call, far beyond any op or network on a phone); ``n`` at most
``MAX_N``; every other number at most ``MAX_NUMBER``. Each refusal names the line and the field.
"""

from __future__ import annotations

from datetime import datetime

from nas.text import control_char, shown
from nas.latency.table import MAX_N

RUNTIMES = ("Core ML", "simulated")      # what the harness writes (ios_profiler: main.swift, Simulation.swift)
MAX_MS = 1e6
MAX_NUMBER = 1e15


def _walk(value, where: str = ""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}.{i}" if where else str(i))
    else:
        yield where, value


def _show(v) -> str:
    return shown(v, 60, 40)


def row_problem(row: dict) -> str | None:
    """Why a schema-valid line must not be imported (``field F: ...``), or None."""
    for field, v in _walk(row):
        if isinstance(v, str):
            where = control_char(v)
            if where:
                return f"field {field}: {_show(v)} holds a control character ({where})"
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            name = field.rsplit(".", 1)[-1]
            if name.endswith("_ms") and v > MAX_MS:
                return f"field {field}: {_show(v)} ms is not a time of one call (at most {MAX_MS:g} ms)"
            if name == "n" and v > MAX_N:
                return f"field {field}: {_show(v)} timed runs (at most {MAX_N})"
            if abs(v) > MAX_NUMBER:
                return f"field {field}: {_show(v)} is out of range (at most {MAX_NUMBER:g})"
    for field in ("started", "finished"):
        if isinstance(row.get(field), str):
            try:
                datetime.fromisoformat(row[field].replace("Z", "+00:00"))
            except ValueError:
                return f"field {field}: {_show(row[field])} is not a date and time"
    runtime = (row.get("device") or {}).get("runtime") if row.get("kind") == "header" else None
    if runtime is not None and runtime not in RUNTIMES:
        return (f"field device.runtime: {_show(runtime)} is not a runtime the harness measures with "
                f"({' or '.join(RUNTIMES)})")
    return None
