"""``nas profile-ops``: measure every op a space / zoo models / given keys need, on a device."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from nas import zoo
from nas.arch.resolve import resolve
from nas.errors import NasError
from nas.profiling.devices import COREML_UNITS, get_device
from nas.profiling.local import RUNTIMES
from nas.profiling.measure import Protocol
from nas.profiling.ops import collect, unique
from nas.spaces import load_space, space_names


def register(sub) -> None:
    p = sub.add_parser("profile-ops", help="measure the ops a space or zoo models need into a latency table "
                       "(local CPU), or write a Core ML profiling bundle for an iPhone")
    p.add_argument("--device", required=True, help="local (this machine's CPU), mac (macOS only), or an "
                   "iPhone name (iphone11, iphonexs, ...)")
    p.add_argument("--unit", required=True, help=f"local: {', '.join(RUNTIMES)}; Core ML: "
                   f"{', '.join(COREML_UNITS)} or all")
    p.add_argument("--space", help="every op of this search space (e.g. fbnet)")
    p.add_argument("--zoo", help="comma-separated zoo model names")
    p.add_argument("--zoo-all", action="store_true", help="every zoo model")
    p.add_argument("--ops", nargs="+", default=[], metavar="KEY", help="op keys, e.g. ir_k3_s2_e6_c24@16x112x112")
    p.add_argument("--out", help="table (local/mac; default latency_tables/DEVICE-UNIT.yaml) or bundle folder "
                   "(iPhone; default bundles/DEVICE)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run without re-measuring")
    p.add_argument("--min-runs", type=int, default=Protocol.min_runs)
    p.add_argument("--min-time", type=float, default=Protocol.min_time_s, help="seconds of timed rounds per group")
    p.add_argument("--max-runs", type=int, default=Protocol.max_runs)
    p.add_argument("--passes", type=int, default=Protocol.passes, help="recorded passes (the unit of --resume)")
    p.add_argument("--warmup", type=int, default=Protocol.warmup_runs)
    p.add_argument("--clock", choices=("thread", "wall"), default="thread")
    p.add_argument("--calibrate", type=int, default=24, help="local: networks of --space timed to fit the "
                   "in-network correction (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="bundle: conversion processes")
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


# Seconds to convert one model (op or overhead) to Core ML in one process here: the fbnet bundle's
# 112 ops + their overhead models took 170 s with two processes (issue 17).
CONVERT_S_PER_MODEL = 2.4


def _everything():
    """Every shipped space's ops and every zoo model's, for a run with no --space/--zoo/--ops."""
    spaces = [load_space(n) for n in space_names()]
    entries = unique(e for s in spaces for e in collect(space=s))
    return unique([*entries, *collect(nets=[zoo.get(n).spec for n in zoo.names()])]), spaces


def _estimate(entries, workers: int, networks: int = 0) -> str:
    overheads = len({(e.in_shape, e.out_shape) for e in entries})
    models = len(entries) + overheads + networks
    minutes = models * CONVERT_S_PER_MODEL / max(1, workers) / 60
    return (f"converting {len(entries)} ops, {overheads} overhead models" + (f", {networks} whole networks" if networks else "")
            + f" to Core ML: about {minutes:.0f} min with {workers} processes "
            f"(~{CONVERT_S_PER_MODEL} s per model per process, measured here; already converted ones are skipped)")


def cmd_profile(args) -> int:
    space = load_space(args.space) if args.space else None
    nets = _nets(args)
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
        with tqdm(total=len(entries) * protocol.passes, desc=f"profiling {len(entries)} ops", unit="op-pass") as bar:
            table = profile_local(entries, args.unit, out, protocol=protocol, space=space,
                                  calibrate=args.calibrate if space else 0, resume=args.resume, bar=bar)
        print(f"wrote {out}: {len(table.entries)} entries, overhead {table.overhead.median_ms:.4f} ms "
              f"({table.summary()})")
        corr = table.provenance.get("correction")
        if corr:
            print(f"in-network correction {corr['coef']} fitted on {corr['calibration_nets']} networks: "
                  f"{corr['uncorrected_mape_pct']}% -> {corr['fit_mape_pct']}% MAPE")
        return 0
    device = get_device(args.device)
    units = list(COREML_UNITS) if args.unit == "all" else [args.unit]
    for u in units:
        if u not in COREML_UNITS:
            raise NasError(f"--unit for Core ML is one of {', '.join(COREML_UNITS)} or all, not {u!r}")
    if device.name == "mac":
        return _profile_mac(args, entries, units, protocol, space, nets)
    from nas.profiling import host
    from nas.profiling.bundle import write_bundle
    bundle = Path(args.out or f"bundles/{device.name}")
    print(_estimate(entries, args.workers))
    with tqdm(desc=f"converting {len(entries)} ops to Core ML", unit="model") as bar:
        manifest = write_bundle(entries, device.name, units, bundle, network_io=_network_io(space, nets),
                                resume=args.resume, workers=args.workers, bar=bar)
    print(f"wrote {manifest} ({len(entries)} ops)")
    udid = host.connected_udid()
    if udid is None:
        for u in units:
            print(host.instructions(bundle, u))
        return 0
    from nas.latency.table import save_table
    from nas.profiling.importer import import_results
    for u in units:
        results = host.run_on_device(udid, bundle, u, bundle.parent / f"{device.name}-{u}.results.jsonl")
        table, notes = import_results(results, manifest)
        out = Path(f"latency_tables/{device.name}-{u}.yaml")
        save_table(table, out)
        print("\n".join(notes + [f"wrote {out}: {len(table.entries)} entries"]))
    return 0


def _profile_mac(args, entries, units, protocol, space, nets) -> int:
    from nas.latency.table import LatencyTable, Stat, save_table
    from nas.profiling import host
    from nas.profiling.bundle import NETWORK_CALL, write_bundle
    if not host.is_macos():
        raise NasError("--device mac measures Core ML on this Mac and needs macOS; here use --device local, "
                       "or --device <iphone> to write a bundle")
    bundle = Path((args.out or "latency_tables/mac") + ".bundle")
    manifest = json.loads(write_bundle(entries, "mac", units, bundle, network_io=_network_io(space, nets),
                                       resume=True, workers=args.workers).read_text())
    overheads = {o["id"]: o for o in manifest["overheads"]}
    items = [(bundle / e["file"], tuple(e["inputs"][0]["shape"][1:])) for e in manifest["entries"]]
    items += [(bundle / o["file"], tuple(o["inputs"][0]["shape"][1:])) for o in manifest["overheads"]]
    for u in units:
        stats = host.measure_on_mac(items, u, protocol)
        entries_out, overhead = {}, None
        for e in manifest["entries"]:
            s = stats[str(bundle / e["file"])]
            o = stats[str(bundle / overheads[e["overhead"]]["file"])].median_ms if "overhead" in e else 0.0
            if e["key"].startswith(NETWORK_CALL):
                overhead = s
            else:
                entries_out[e["key"]] = Stat(max(0.0, s.median_ms - o), None, None, s.mad_ms, s.n, {"overhead_ms": o})
        import platform
        from datetime import date
        table = LatencyTable("mac", u, "measured", {"hardware": platform.machine(), "os": f"macOS {platform.mac_ver()[0]}",
                             "runtime": "Core ML (coremltools predict)", "date": date.today().isoformat(),
                             "protocol": protocol.to_dict()}, overhead or Stat(0.0), entries_out)
        out = Path(f"latency_tables/mac-{u}.yaml") if len(units) > 1 or not args.out else Path(args.out)
        save_table(table, out)
        print(f"wrote {out}: {len(entries_out)} entries")
    return 0
