"""``nas tables import|validate|show|calibrate``: latency tables.

Each subcommand is a ``register_*(tables_subparsers)`` function in
``SUBCOMMANDS``; another command joins the group by adding its function there.
"""

from __future__ import annotations

import json
from pathlib import Path

from nas.cli.calibrate_cmd import register_calibrate
from nas.errors import NasError
from nas.latency.store import find_table
from nas.latency.table import load_table, save_table


def register_import(tsub) -> None:
    p = tsub.add_parser("import", help="turn an on-device results file into a measured table")
    p.add_argument("results", help="results JSON Lines written by nas-profiler / the iOS app")
    p.add_argument("--manifest", required=True, help="the bundle's manifest.json")
    p.add_argument("--out", required=True, help="table to write (YAML)")
    p.add_argument("--allow-other-device", action="store_true",
                   help="import results whose hardware id is not the manifest device's")
    p.set_defaults(func=cmd_import)


def register_validate(tsub) -> None:
    p = tsub.add_parser("validate", help="time random networks end to end and compare with the table's sums")
    p.add_argument("--device", default="local", help="only local can be measured here")
    p.add_argument("--unit", default="ort_cpu")
    p.add_argument("--space", default="fbnet")
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", help="table to check (default: the shipped/user table for device and unit)")
    p.add_argument("--out", help="folder for results.json and predicted_vs_measured.png")
    p.add_argument("--min-runs", type=int, default=60)
    p.add_argument("--min-time", type=float, default=30.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)


def register_show(tsub) -> None:
    p = tsub.add_parser("show", help="a table's provenance and entry count")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)


SUBCOMMANDS = (register_import, register_validate, register_show, register_calibrate)


def register(sub) -> None:
    p = sub.add_parser("tables", help="latency tables: import, validate, show, calibrate")
    tsub = p.add_subparsers(dest="tables_command", required=True)
    for reg in SUBCOMMANDS:
        reg(tsub)


def cmd_import(args) -> int:
    from nas.profiling.importer import import_results
    table, notes = import_results(args.results, args.manifest, allow_other_device=args.allow_other_device)
    save_table(table, args.out)
    for n in notes:
        print(n)
    print(f"wrote {args.out}: {len(table.entries)} entries, {table.summary()}")
    return 0


def cmd_validate(args) -> int:
    from dataclasses import replace
    from tqdm import tqdm
    from nas.profiling.localrun import plot_validation, validate_local
    from nas.profiling.measure import Protocol
    from nas.spaces import load_space
    if args.device != "local":
        raise NasError("tables validate measures networks end to end, which only works for --device local here; "
                       "for a phone, profile networks with the harness and compare")
    table = load_table(args.table, device="local", unit=args.unit) if args.table else find_table("local", args.unit)
    proto = table.provenance.get("protocol") or {}
    protocol = replace(Protocol(clock=proto.get("clock", "thread")), min_runs=args.min_runs, max_runs=max(
        args.min_runs, Protocol.max_runs), min_time_s=args.min_time)
    with tqdm(total=args.samples, desc="building networks", disable=args.json) as bar:
        result = validate_local(table, load_space(args.space), args.samples, seed=args.seed, protocol=protocol,
                                bar=bar)
    summary = {k: result[k] for k in ("samples", "within_10pct", "spearman", "mape")}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        from nas.fsutil import json_text, write_atomic
        write_atomic(out / "results.json", json_text(result, indent=1) + "\n")
        plot_validation(result, out / "predicted_vs_measured.png")
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['samples']} networks: {summary['within_10pct'] * 100:.0f} % within ±10 %, "
              f"Spearman {summary['spearman']:.3f}, MAPE {summary['mape']:.2f} % (bias {result['bias_pct']:+.2f} %)"
              + (f"; wrote {args.out}/results.json and predicted_vs_measured.png" if args.out else ""))
    return 0


def cmd_show(args) -> int:
    t = load_table(args.path)
    info = {"path": args.path, "device": t.device, "unit": t.unit, "method": t.method, "entries": len(t.entries),
            "overhead_ms": t.overhead.median_ms, "provenance": t.provenance}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{args.path}: {t.summary()}\n{len(t.entries)} entries, per-network overhead {t.overhead.median_ms:.4f} ms")
    for k, v in t.provenance.items():
        print(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
    return 0
