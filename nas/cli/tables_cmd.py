"""``nas tables import|validate|show|calibrate``: latency tables.

Each subcommand is a ``register_*(tables_subparsers)`` function in
``SUBCOMMANDS``; another command joins the group by adding its function there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nas.cli.calibrate_cmd import register_calibrate
from nas.cli.progress import progress
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
    p = tsub.add_parser("validate", help="compare a table's sums with whole networks timed end to end: local "
                        "(times them here, and re-times the table's calibration networks to catch a stale table) "
                        "or a device (from its results file and bundle manifest); exits 1 when the table fails")
    p.add_argument("--device", default="local", help="local (measured here), or the device of --results")
    p.add_argument("--results", help="device: the harness's results file (its validation networks are re-priced)")
    p.add_argument("--manifest", help="device: the bundle's manifest.json (with --results)")
    p.add_argument("--drift-networks", type=int, default=3, help="local: calibration networks re-timed for the "
                   "staleness check (0: skip)")
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


def _name_problem(out: str, device: str, unit: str) -> str | None:
    """Why ``--out`` is named for another device or unit: tables are found by their name (``DEVICE-UNIT.yaml``,
    ``DEVICE-UNIT.*.yaml``, nas.latency.store), and a table under another's name is refused wherever it is looked
    up. A name of no device and unit (``t.yaml``) is the user's business."""
    from nas.latency.store import named_for
    named = named_for(out)
    if named is not None and named != (device, unit):
        name = Path(out).name
        (dev, named_unit), rest = named, name[len(name.split(".")[0]):]
        return (f"--out {out}: the name says device {dev} unit {named_unit}, the results are {device}/{unit}; "
                f"tables are found by their file name, so this one would be refused wherever it is looked up "
                f"(name it {device}-{unit}{rest})")
    return None


def cmd_import(args) -> int:
    from nas.fsutil import check_output_file
    from nas.latency.table import table_from_dict
    from nas.profiling.importer import import_results
    check_output_file("--out", args.out)
    table, notes = import_results(args.results, args.manifest, allow_other_device=args.allow_other_device)
    problem = _name_problem(args.out, table.device, table.unit)
    if problem:
        raise NasError(problem)
    table_from_dict(table.to_dict(), str(args.results))    # never write a table that its loader would refuse
    save_table(table, args.out)
    for n in notes:
        print(n)
    print(f"wrote {args.out}: {len(table.entries)} entries, {table.summary()}")
    return 0


def _validate_results(args) -> int:
    from nas.profiling.importer import import_results
    from nas.profiling.netcheck import describe
    if not args.manifest:
        raise NasError("--results needs --manifest (the bundle's manifest.json)")
    table, notes = import_results(args.results, args.manifest, allow_other_device=True)
    if table.device != args.device:
        raise NasError(f"{args.manifest}: the bundle is for {table.device}, not --device {args.device}")
    v = table.provenance.get("validation")
    if not v:
        raise NasError(f"{args.results}: no validation networks with results: nothing to validate")
    if args.json:
        print(json.dumps({k: v[k] for k in ("networks", "within_10pct", "spearman", "mape", "max_abs_error_pct",
                                             "worst")} | {"method": table.method}))
    else:
        print(f"{table.summary()}\n{describe(v, 'corrected table')}\n{describe(v['uncorrected'], 'uncorrected sums')}")
    return 0 if v["within_10pct"] >= PASS_SHARE else 1


PASS_SHARE = 0.9  # a table passes validation with at least this share of networks within +-10 %


def cmd_validate(args) -> int:
    from dataclasses import replace
    from nas.profiling.localrun import plot_validation, validate_local
    from nas.profiling.measure import Protocol
    from nas.spaces import load_space
    if args.results:
        return _validate_results(args)
    from nas.bounds import MAX_NETS, check_measure_flags, int_in
    check_measure_flags(args)
    int_in("--drift-networks", args.drift_networks, 0, MAX_NETS)
    int_in("--samples", args.samples, 2, MAX_NETS)
    if args.manifest:
        raise NasError("--manifest is read with --results (a device's run); a local validation times networks here")
    if args.out is not None:
        from nas.fsutil import check_output_folder
        check_output_folder("--out", args.out)
    space = load_space(args.space)                  # before the drift check's timing
    if args.device != "local":
        raise NasError(f"a {args.device} table is validated from its device run: pass --results RESULTS.jsonl "
                       f"--manifest BUNDLE/manifest.json (networks can only be timed here for --device local)")
    table = load_table(args.table, device="local", unit=args.unit) if args.table else find_table("local", args.unit)
    from nas.profiling import staleness
    drift = staleness.drift(table, args.drift_networks) if args.drift_networks > 0 else None
    proto = table.provenance.get("protocol") or {}
    protocol = replace(Protocol(clock=proto.get("clock", "thread")), min_runs=args.min_runs, max_runs=max(
        args.min_runs, Protocol.max_runs), min_time_s=args.min_time)
    with progress(total=args.samples, desc="building networks", disable=args.json) as bar:
        result = validate_local(table, space, args.samples, seed=args.seed, protocol=protocol,
                                bar=bar)
    summary = {k: result[k] for k in ("samples", "within_10pct", "spearman", "mape")} | {"drift": drift}
    result["drift"] = drift
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
    failed = []
    if drift and drift["stale"]:
        failed.append(staleness.advice(table, drift))
    elif drift:
        print(f"calibration networks re-timed: {drift['drift_pct']:+.1f} % against the table's own "
              f"(limit ±{staleness.STALE_PCT:g} %)", file=sys.stderr if args.json else sys.stdout)
    if result["within_10pct"] < PASS_SHARE:
        failed.append(f"the table fails validation here: {result['within_10pct'] * 100:.0f} % of networks within "
                      f"±10 % (needs {PASS_SHARE * 100:.0f} %); re-profile this machine with `nas profile-ops "
                      f"--device local --unit {table.unit} --space {args.space} --out TABLE`")
    for f in failed:
        print(f"nas: {f}", file=sys.stderr)
    return 1 if failed else 0


def cmd_show(args) -> int:
    if not args.path:
        raise NasError("tables show: an empty table path")
    t = load_table(args.path)
    info = {"path": args.path, "device": t.device, "unit": t.unit, "method": t.method, "runtime": t.runtime,
            "weights": t.weights, "entries": len(t.entries),
            "overhead_ms": t.overhead.median_ms, "provenance": t.provenance}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{args.path}: {t.summary()}\n{len(t.entries)} entries, per-network overhead {t.overhead.median_ms:.4f} ms")
    for k, v in t.provenance.items():
        print(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
    return 0
