"""``nas profile-ops``: measure every op a space / zoo models / given keys need, on a device."""

from __future__ import annotations

from pathlib import Path

from nas import zoo
from nas.arch.resolve import resolve
from nas.bounds import MAX_NETS, MAX_RUNS, check_measure_flags, int_in
from nas.cli.progress import progress
from nas.compress import COMPRESSIONS, FP16
from nas.errors import NasError
from nas.fsutil import check_output_file, check_output_folder, loads_json
from nas.hardware.devices import COREML_UNITS, get_device
from nas.profiling.bundle import write_bundle
from nas.profiling.local import RUNTIMES
from nas.profiling.measure import Protocol
from nas.profiling.networks import draw_all
from nas.profiling.ops import collect, unique
from nas.spaces import load_space, space_names


def register(sub) -> None:
    p = sub.add_parser("profile-ops", help="measure the ops a space or zoo models need into a latency table "
                       "(local CPU), or write a Core ML profiling bundle for an iPhone")
    p.add_argument("--device", required=True, help="local (this machine's CPU), mac (macOS only), or an "
                   "iPhone name (iphone11, iphonexs, ...)")
    p.add_argument("--unit", required=True, help=f"local: {', '.join(RUNTIMES)}; Core ML: one or more "
                   f"(comma-separated) of {', '.join(COREML_UNITS)} (ane = CPU + Neural Engine, "
                   f"all = Core ML picks CPU/GPU/Neural Engine)")
    p.add_argument("--space", help="every op of this search space (e.g. fbnet)")
    p.add_argument("--zoo", help="comma-separated zoo model names")
    p.add_argument("--zoo-all", action="store_true", help="every zoo model")
    p.add_argument("--ops", nargs="+", default=[], metavar="KEY", help="op keys, e.g. ir_k3_s2_e6_c24@16x112x112")
    p.add_argument("--out", help="table (local/mac; default latency_tables/DEVICE-UNIT.yaml) or bundle folder "
                   "(iPhone; default bundles/DEVICE)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run without re-measuring")
    p.add_argument("--replace", action="store_true", help="local: overwrite a finished table already at --out "
                   "(refused without it: its measurements would be lost)")
    p.add_argument("--min-runs", type=int, default=Protocol.min_runs)
    p.add_argument("--min-time", type=float, default=Protocol.min_time_s, help="seconds of timed rounds per group")
    p.add_argument("--max-runs", type=int, default=Protocol.max_runs)
    p.add_argument("--passes", type=int, default=Protocol.passes, help="recorded passes (the unit of --resume)")
    p.add_argument("--warmup", type=int, default=Protocol.warmup_runs)
    p.add_argument("--clock", choices=("thread", "wall"), default="thread", help="local only; Core ML "
                   "(mac, iPhone) is always timed by the harness with wall time")
    p.add_argument("--calibrate", type=int, default=24, help="whole networks of --space (every shipped space "
                   "when none is given) timed to fit the in-network correction (0: none)")
    p.add_argument("--validate", type=int, default=30, help="device bundles: whole networks of the space(s) timed "
                   "to validate the corrected table (drawn like `nas tables validate`'s, disjoint from the "
                   "calibration ones; 0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="bundle: conversion processes")
    p.add_argument("--compress", choices=tuple(COMPRESSIONS), help="bundle (iPhone, mac): compress every op's and "
                   "network's weights as `nas export --compress` does, so that the imported table prices exports "
                   "with those weights (its `weights` field; default bundle bundles/DEVICE-COMPRESS, table "
                   "latency_tables/DEVICE-UNIT.COMPRESS.yaml)")
    p.set_defaults(func=cmd_profile)


def _nets(args):
    names = zoo.names() if args.zoo_all else [n for n in (args.zoo or "").split(",") if n]
    return [zoo.get(n).spec for n in names]


def _network_io(space, nets):
    net = nets[0] if nets else (space.decode([0] * len(space.decisions)) if space else None)
    if net is None:
        return None
    out = resolve(net)[-1].out_shape
    out = (out[0],) if out[1:] == (1, 1) else out
    return (net.in_channels, *net.input_size), out


# CPU seconds to convert one model to Core ML in one process, measured on the development machine (AMD
# EPYC): ~1 s for an op or overhead model, ~2.3 s for a whole 224x224 fbnet network (trace 0.25 s,
# ct.convert 2 s), plus ~5 s of imports per process. On a loaded machine wall time is several times this.
CONVERT_S_PER_MODEL = 1.0
CONVERT_S_PER_NETWORK = 2.5
IMPORT_S = 5.0


def _everything():
    """Every shipped space's ops and every zoo model's, for a run with no --space/--zoo/--ops."""
    spaces = [load_space(n) for n in space_names()]
    entries = unique(e for s in spaces for e in collect(space=s))
    return unique([*entries, *collect(nets=[zoo.get(n).spec for n in zoo.names()])]), spaces


def _estimate(entries, workers: int, networks: int = 0) -> str:
    overheads = len({(e.in_shape, e.out_shape) for e in entries})
    models = len(entries) + overheads
    minutes = ((models * CONVERT_S_PER_MODEL + networks * CONVERT_S_PER_NETWORK) / max(1, workers) + IMPORT_S) / 60
    nets = f", {networks} whole networks" if networks else ""
    return (f"converting {len(entries)} ops, {overheads} overhead models{nets}"
            + f" to Core ML: about {minutes:.1f} min with {workers} processes "
            f"(~{CONVERT_S_PER_MODEL:g} s per op and ~{CONVERT_S_PER_NETWORK:g} s per network per idle core; "
            f"longer on a loaded machine; already converted ones are skipped)")


def check_profile_flags(args) -> None:
    check_measure_flags(args)
    int_in("--max-runs", args.max_runs, args.min_runs, MAX_RUNS)
    int_in("--passes", args.passes, 1, 1000)
    int_in("--warmup", args.warmup, 0, MAX_RUNS)
    from nas.profiling.correction import MIN_NETS
    c = args.calibrate
    if isinstance(c, bool) or not isinstance(c, int) or not (c == 0 or MIN_NETS <= c <= MAX_NETS):
        raise NasError(f"--calibrate must be 0 (no correction) or an integer in {MIN_NETS}..{MAX_NETS} (the "
                       f"correction's fit needs at least {MIN_NETS} networks), got {c!r}")
    int_in("--validate", args.validate, 0, MAX_NETS)
    int_in("--workers", args.workers, 1, 1024)


def cmd_profile(args) -> int:
    check_profile_flags(args)
    if args.device == "local" and args.unit not in RUNTIMES:
        raise NasError(f"--device local measures --unit {' or '.join(RUNTIMES)}, not {args.unit!r}")
    if args.out is not None:
        (check_output_file if args.device in ("local", "mac") else check_output_folder)("--out", args.out)
    space = load_space(args.space) if args.space else None
    nets = _nets(args)
    spaces = [space] if space else []
    if not (space or nets or args.ops):
        entries, spaces = _everything()
        print(f"no --space, --zoo or --ops: profiling every shipped space ({', '.join(s.name for s in spaces)}) "
              f"and all {len(zoo.names())} zoo models: {len(entries)} unique ops")
        nets = [zoo.get(n).spec for n in zoo.names()]
    else:
        entries = collect(space=space, nets=nets, keys=args.ops)
    protocol = Protocol(warmup_runs=args.warmup, min_runs=args.min_runs, min_time_s=args.min_time,
                        max_runs=args.max_runs, passes=args.passes, clock=args.clock, seed=args.seed)
    if args.device == "local":
        from nas.profiling.localrun import profile_local
        out = Path(args.out or f"latency_tables/local-{args.unit}.yaml")
        with progress(total=len(entries) * protocol.passes, desc=f"profiling {len(entries)} ops", unit="op-pass") as bar:
            table = profile_local(entries, args.unit, out, protocol=protocol, space=space,
                                  calibrate=args.calibrate if space else 0, resume=args.resume, bar=bar,
                                  replace=args.replace)
        print(f"wrote {out}: {len(table.entries)} entries, overhead {table.overhead.median_ms:.4f} ms "
              f"({table.summary()})")
        corr = table.provenance.get("correction")
        if corr:
            print(f"in-network correction {corr['coef']} fitted on {corr['calibration_nets']} networks: "
                  f"{corr['uncorrected_mape_pct']}% -> {corr['fit_mape_pct']}% MAPE")
        return 0
    device = get_device(args.device)
    from nas.profiling import host
    if device.name == "mac":
        host.require_macos()        # before minutes of conversion, not after them
    units = [u for u in args.unit.split(",") if u]
    for u in units:
        if u not in COREML_UNITS:
            raise NasError(f"--unit for Core ML is one or more (comma-separated) of {', '.join(COREML_UNITS)}, "
                           f"not {u!r} (ane = CPU and Neural Engine, all = any unit Core ML picks)")
    networks = draw_all(spaces, args.calibrate, args.validate) if spaces else []
    if not networks and (args.calibrate or args.validate):
        print("warning: no --space, so no calibration/validation networks: the table will carry no in-network "
              "correction and no validation figure")
    weights = args.compress or FP16
    tag = f"-{weights}" if args.compress else ""
    bundle = Path(args.out or (f"bundles/{device.name}{tag}" if device.name != "mac" else
                               f"latency_tables/mac{tag}.bundle"))
    print(_estimate(entries, args.workers, len(networks)))
    with progress(desc=f"converting {len(entries)} ops, {len(networks)} networks to Core ML", unit="model") as bar:
        manifest = write_bundle(entries, device.name, units, bundle, network_io=_network_io(space, nets),
                                networks=networks, resume=args.resume or device.name == "mac", workers=args.workers,
                                weights=weights, bar=bar)
    bundle_id = loads_json(manifest.read_text())["bundle_id"]
    print(f"wrote {manifest} ({len(entries)} ops, {len(networks)} whole networks"
          + (f", weights {weights}: {COMPRESSIONS[weights].what})" if args.compress else ")"))
    if device.name == "mac":
        runs = {u: host.run_on_mac(bundle, u, bundle / host.results_name(u, bundle_id)) for u in units}
    else:
        udid = host.connected_udid(device.hardware_ids)
        if udid is None:
            for u in units:
                print(host.instructions(bundle, u, bundle_id))
            return 0
        runs = {u: host.run_on_device(udid, bundle, u, bundle_id, bundle.parent / host.results_name(u, bundle_id))
                for u in units}
    from nas.latency.table import save_table
    from nas.profiling.importer import import_results
    for u, results in runs.items():
        table, notes = import_results(results, manifest)
        out = Path(f"latency_tables/{device.name}-{u}{'.' + weights if args.compress else ''}.yaml")
        save_table(table, out)
        print("\n".join(notes + [f"wrote {out}: {len(table.entries)} entries ({table.summary()})"]))
    return 0
