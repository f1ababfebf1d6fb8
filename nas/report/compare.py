"""The numbers of the comparison report: every zoo model and every searched network, priced alike.

Each number says where it came from: parameters and MACs from the description
(``nas.arch.counts``), quoted top-1 from the zoo's ``article.top1`` (the
reference article's figure), predicted latency from ``price_net`` on the table
``find_table(device, unit)`` picks -- the same call ``nas latency`` makes, so the
figures agree -- and published latency from the article's own measurements
(``calibration/coreml_iphone_latency_2020.yaml``, seconds in the file, ms here).
Searched networks come from a search output folder: ``summary.json`` (``best``:
``arch``, ``latency_ms``, ``accuracy``, ``accuracy_kind``) and ``best.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nas import zoo
from nas.arch.counts import count
from nas.arch.dsl import parse_net
from nas.arch.spec import NetSpec
from nas.arch.yaml_io import load_net
from nas.errors import NasError
from nas.fsutil import loads_json, portable_path
from nas.latency import LatencyTable, price_net
from nas.latency.store import NoTable, find_priced
from nas.latency.trust import extrapolation

UNITS = ("cpu", "gpu", "ane")
PUBLISHED_FILE = Path(__file__).resolve().parents[2] / "calibration" / "coreml_iphone_latency_2020.yaml"
TOP1_KINDS = ("top1", "imagenet_top1")  # accuracy kinds that are ImageNet top-1 (plotted with the zoo)


@dataclass
class Row:
    name: str
    kind: str                         # zoo | searched
    spec: NetSpec
    params: int
    macs: int
    accuracy: float | None            # ImageNet top-1 (zoo: quoted by the article) or the search's measure
    accuracy_source: str
    accuracy_is_top1: bool
    predicted_ms: dict[str, float | None] = field(default_factory=dict)
    predicted_note: dict[str, str] = field(default_factory=dict)   # why a prediction is missing
    stage_ms: dict[str, list[float]] = field(default_factory=dict)
    published_ms: dict[str, float | None] = field(default_factory=dict)
    search_latency_ms: float | None = None                           # what the search itself reported
    extrapolation: dict[str, list[dict]] = field(default_factory=dict)  # per unit: nas.latency.trust flags

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "dsl": str(self.spec), "params": self.params,
                "macs": self.macs, "accuracy": self.accuracy, "accuracy_source": self.accuracy_source,
                "accuracy_is_top1": self.accuracy_is_top1, "predicted_ms": self.predicted_ms,
                "predicted_note": self.predicted_note, "stage_ms": self.stage_ms,
                "published_ms": self.published_ms, "search_latency_ms": self.search_latency_ms,
                "extrapolation": self.extrapolation}


@dataclass
class Comparison:
    device: str
    unit: str                                   # the headline unit (the Pareto plot's first)
    tables: dict[str, LatencyTable | None]
    table_notes: dict[str, str]
    rows: list[Row]
    published_source: str | None

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)


def load_tables(device: str, runtime: str | None = None, weights: str | None = None
                ) -> tuple[dict[str, LatencyTable | None], dict[str, str]]:
    """Each unit's table for exports of ``weights`` (None: fp16; ``find_priced``: fp16 with a note where no table
    of those weights exists) and a line saying which table it is. A unit without a table is a note; a table that
    exists but is refused (damaged, or named for another device) stops the report, naming its file."""
    tables, notes = {}, {}
    for unit in UNITS:
        try:
            t, note = find_priced(device, unit, runtime, weights)
            tables[unit], notes[unit] = t, f"{t.summary()} -- {portable_path(t.path) or t.source_name}"
            if note:
                notes[unit] += f"; note: {note}"
        except NoTable as e:
            tables[unit], notes[unit] = None, e.reason
    return tables, notes


def load_published(device: str, path: Path = PUBLISHED_FILE) -> dict[str, dict[str, float | None]]:
    """The article's per-unit latencies (ms) for ``device``; empty when the file or device is absent."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    out = {}
    for name, m in (data.get("models") or {}).items():
        values = m.get(device)
        if values:
            out[name] = {u: (None if v is None else round(float(v) * 1000, 3)) for u, v in zip(UNITS, values)}
    return out


def _price(row: Row, tables: dict[str, LatencyTable | None]) -> None:
    for unit, table in tables.items():
        if table is None:
            row.predicted_ms[unit] = None
            row.predicted_note[unit] = "no table"
            continue
        try:
            p = price_net(row.spec, table)
        except KeyError as e:  # MissingEntry names the op and how to profile it
            row.predicted_ms[unit] = None
            row.predicted_note[unit] = f"missing op {getattr(e, 'key', e)}"
            continue
        row.predicted_ms[unit] = p.total_ms
        flags = extrapolation(row.spec, p, table)
        if flags:
            row.extrapolation[unit] = flags
        stages = [0.0] * len(row.spec.stages)
        for layer in p.layers:
            stages[layer.stage] += layer.ms
        row.stage_ms[unit] = stages


def read_search_dir(path: str | Path) -> Row:
    """The best network of a search output folder (summary.json, best.yaml)."""
    d = Path(path)
    summary_file = d / "summary.json"
    expected = "expected best.arch, best.latency_ms, best.accuracy, best.accuracy_kind"
    try:
        summary = loads_json(summary_file.read_text(encoding="utf-8"))
        best = summary["best"]
    except FileNotFoundError:
        raise NasError(f"{d}: no summary.json (is this a `nas search` output folder?)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:     # ValueError: bad JSON or not UTF-8
        raise NasError(f"{summary_file}: malformed ({type(e).__name__}: {e}); {expected}") from None
    if not isinstance(best, dict):
        raise NasError(f"{summary_file}: field best: not a mapping; {expected}")
    for field in ("accuracy", "latency_ms"):
        v = best.get(field)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise NasError(f"{summary_file}: field best.{field}: expected a finite number, got {str(v)[:40]!r}")
    name = f"search:{d.name}"
    if (d / "best.yaml").exists():
        spec = load_net(d / "best.yaml")
    elif isinstance(best.get("arch"), str) and best["arch"]:
        spec = parse_net(best["arch"], name=name, file=str(summary_file))
    else:
        raise NasError(f"{d}: neither best.yaml nor best.arch in summary.json")
    kind = str(best.get("accuracy_kind") or "unknown")
    acc = best.get("accuracy")
    c = count(spec)
    return Row(name, "searched", spec, c.params, c.macs, None if acc is None else float(acc),
               f"search ({kind})", kind in TOP1_KINDS,
               search_latency_ms=None if best.get("latency_ms") is None else float(best["latency_ms"]))


def build_comparison(device: str, unit: str = "ane", search_dirs: tuple[str, ...] = (),
                     models: tuple[str, ...] | None = None, runtime: str | None = None,
                     weights: str | None = None) -> Comparison:
    """Price every zoo model (or ``models``) and every searched network on ``device``'s tables (of ``weights``
    where such tables exist: ``load_tables``)."""
    if unit not in UNITS:
        raise NasError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    tables, notes = load_tables(device, runtime, weights)
    published = load_published(device)
    rows = []
    for name in models or zoo.names():
        m = zoo.get(name)
        c = count(m.spec)
        top1 = m.article.get("top1")
        rows.append(Row(name, "zoo", m.spec, c.params, c.macs, None if top1 is None else float(top1),
                        "article (zoo article.top1)", top1 is not None,
                        published_ms=published.get(name, {})))
    rows += [read_search_dir(d) for d in search_dirs]
    for row in rows:
        _price(row, tables)
    src = str(PUBLISHED_FILE.relative_to(PUBLISHED_FILE.parents[1])) if published else None
    return Comparison(device, unit, tables, notes, rows, src)
