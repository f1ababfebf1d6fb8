"""What a finished search leaves in ``--out``, the same for every strategy: one writer, not one per strategy.

``nas search`` (ask/tell strategies, ``nas.search.session``) and ``nas search
--strategy dnas`` (``nas.search.dnas.session``) promise the same layout:
``summary.json`` opening with the same keys, ``trials.csv``, ``pareto.png``,
and for a best network ``best.yaml`` (with how far to trust its latency,
``nas.latency.trust``) and ``best.mlpackage``. The article's models, priced on
the same table and scored by the same estimator, are the plot's baselines.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from nas import zoo
from nas.arch.yaml_io import dump_net
from nas.fsutil import write_atomic
from nas.latency import price_net
from nas.latency.table import MissingEntry
from nas.latency.trust import flag_chosen
from nas.search import report
from nas.search.prepare import Prepared
from nas.search.storage import Trial


def summary_head(prep: Prepared, strategy: str, trials: int) -> dict:
    """The keys ``summary.json`` opens with: what was searched, on which table, against which target."""
    cfg = prep.config
    return {"space": prep.space.name, "strategy": strategy, "device": cfg.device, "unit": cfg.unit,
            "table": prep.table_info, "target_ms": cfg.target_ms, "fastest_ms": round(prep.fastest_ms, 6),
            "slowest_ms": round(prep.slowest_ms, 6), "target_binds": prep.slowest_ms > cfg.target_ms,
            "seed": cfg.seed, "trials": trials}


def best_entry(best: Trial | None) -> dict | None:
    """``summary.json``'s ``best``: the feasible trial of highest accuracy, or None."""
    return None if best is None else {
        "arch": best.arch, "latency_ms": round(best.result.latency_ms, 6),
        "accuracy": round(best.result.accuracy, 6), "accuracy_kind": best.accuracy_kind,
        "trial": best.index, "choices": list(best.result.choices)}


def baselines(prep: Prepared, estimator, notes: list[str]) -> list[report.Baseline]:
    base = getattr(estimator, "base", estimator)
    if base.kind == "benchmark":
        notes.append(f"baselines skipped: the article's models are not networks of space {prep.space.name!r}, "
                     f"so its benchmark cannot score them")
        return []
    out = []
    for name in zoo.names():
        spec = zoo.get(name).spec
        try:
            lat = price_net(spec, prep.table).total_ms
        except MissingEntry as e:
            notes.append(f"baseline {name} skipped: the table cannot price it ({e.key})")
            continue
        try:
            est = base.estimate(spec, None)
        except Exception as e:  # noqa: BLE001 -- a baseline that cannot be scored is noted, not fatal
            notes.append(f"baseline {name} skipped: {base.kind} estimate failed ({type(e).__name__}: {e})")
            continue
        out.append(report.Baseline(name, lat, est.accuracy, est.kind))
    return out


def _export_best(prep: Prepared, net, path: Path, summary: dict) -> None:
    """best.mlpackage, its metadata quoting the searched device's tables: a device outside the registry,
    searched on its own --table, is quoted from its tables in NAS_TABLES_DIR; one with none anywhere gets the
    exporter's default device, said in the notes. The tables were found once, in prepare (a damaged one refused
    before the search), and are handed to the export."""
    from nas.export import ExportOptions, export_package
    cfg = prep.config
    device, tables = cfg.device, prep.export_tables
    if tables is None:
        device = ExportOptions().device
        summary["notes"].append(f"best.mlpackage's metadata quotes {device}'s latency tables: {cfg.device!r} is "
                                f"not a known device")
    result = export_package(net, path, options=ExportOptions(device=device, compress=cfg.compress), tables=tables)
    if result.compression is not None:
        summary["mlpackage_compression"] = result.compression.to_json()


def write_results(prep: Prepared, summary: dict, trials: Sequence[Trial], best: Trial | None, *, t0: float,
                  stage: Callable[[str], None], base: Sequence[report.Baseline] = (),
                  metric: str | None = None) -> dict:
    """``trials.csv``, ``pareto.png``, the best's files, then ``summary.json`` (with ``wall_s`` since ``t0``)."""
    cfg, space, out = prep.config, prep.space, Path(prep.config.out)
    write_atomic(out / "trials.csv", report.trials_csv(trials))
    title = (f"{space.name} / {summary['strategy']} on {cfg.device}/{cfg.unit} ({prep.table.method}), "
             f"target {cfg.target_ms:g} ms")
    write_atomic(out / "pareto.png", report.plot_png(trials, base, cfg.target_ms, title, metric))
    if best is not None:
        net = space.decode(best.result.choices, name=f"{space.name}_best")
        # how far to trust the best's latency: where it goes beyond the table's calibration (nas.latency.trust)
        summary["best"]["extrapolation"] = flag_chosen(net, prep.table, summary["notes"])
        write_atomic(out / "best.yaml", dump_net(net, {"latency_ms": summary["best"]["latency_ms"],
                                                       "accuracy": summary["best"]["accuracy"],
                                                       "accuracy_kind": summary["best"]["accuracy_kind"]}))
        if cfg.export:
            stage("exporting best.mlpackage")
            summary["mlpackage"] = "best.mlpackage"
            _export_best(prep, net, out / "best.mlpackage", summary)
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    report.write_json(out / "summary.json", summary)
    return summary
