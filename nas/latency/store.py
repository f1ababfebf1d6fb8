"""Finding the table for a device and unit: a measured table always wins over a predicted one.

Search order: ``$NAS_TABLES_DIR`` (a user's own tables), then the shipped
``latency_tables/`` folder. Within each, ``{device}-{unit}.yaml`` files are
read and a ``measured`` one beats a ``predicted`` one, which beats a ``simulated`` one (a pipeline
test, never a measurement); the choice is reported.
"""

from __future__ import annotations

import os
from pathlib import Path

from nas.latency.table import LatencyTable, TableError, load_table

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "latency_tables"


def table_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("NAS_TABLES_DIR"):
        dirs.append(Path(os.environ["NAS_TABLES_DIR"]))
    dirs.append(SHIPPED_DIR)
    return dirs


def candidates(device: str, unit: str) -> list[Path]:
    names = (f"{device}-{unit}.yaml", f"{device}-{unit}.measured.yaml", f"{device}-{unit}.predicted.yaml")
    return [d / n for d in table_dirs() for n in names if (d / n).exists()]


RANK = {"measured": 0, "predicted": 1, "simulated": 2}  # a simulated table never beats a predicted one


def find_table(device: str, unit: str) -> LatencyTable:
    """The best table for ``device``/``unit``: measured before predicted, user's before shipped."""
    found = [load_table(p, device=device, unit=unit) for p in candidates(device, unit)]
    if not found:
        where = ", ".join(str(d) for d in table_dirs())
        raise TableError(f"no latency table for device {device!r} unit {unit!r} in {where}; profile one "
                         f"with `nas profile-ops --device {device} --unit {unit}` or pass --table PATH",
                         field="device")
    found.sort(key=lambda t: RANK.get(t.method, len(RANK)))
    return found[0]
