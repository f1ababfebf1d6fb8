"""``nas latency``: price one network against a latency table."""

from __future__ import annotations

import json

from nas.cli.arch_cmd import add_net_source, net_from_args
from nas.compress import COMPRESSIONS
from nas.errors import NasError
from nas.latency.pricing import price_net
from nas.latency.regime import RUNTIMES
from nas.latency.store import check_priced, find_priced
from nas.latency.table import load_table
from nas.latency.trust import extrapolation, provenance_of
from nas.latency.units import compute_units, describe


def register(sub) -> None:
    p = sub.add_parser("latency", help="price a network against a latency table (overhead + sum of ops)")
    add_net_source(p)
    p.add_argument("--table", help="a table file")
    p.add_argument("--device", help="find the table for this device (with --unit)")
    p.add_argument("--unit")
    add_runtime_arg(p)
    add_compress_arg(p, "price the network as `nas export --compress` would ship it")
    p.add_argument("--allow-other-device", action="store_true", help="use a --table made for another device/unit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_latency)


def add_runtime_arg(p) -> None:
    """``--runtime``: the Core ML regime whose table to use (shared by latency, search and report)."""
    p.add_argument("--runtime", default=None, metavar="REGIME",
                   help="runtime regime of the table: " + "; ".join(f"{k} = {v}" for k, v in RUNTIMES.items())
                        + " (default: the first, the regime `nas export` produces)")


def add_compress_arg(p, what: str) -> None:
    """``--compress``: the weight format priced (shared by latency and search; export compresses with it)."""
    p.add_argument("--compress", choices=tuple(COMPRESSIONS),
                   help=f"{what}: on a table of those weights when one exists (measured on a phone with "
                        f"`nas profile-ops --compress`; none ships), else on fp16 weights, and the output says so")


def cmd_latency(args) -> int:
    net = net_from_args(args)
    if args.table:
        table = load_table(args.table, device=args.device, unit=args.unit, runtime=args.runtime,
                           allow_mismatch=args.allow_other_device)
        note = check_priced(table, args.compress, args.allow_other_device)
    elif args.device and args.unit:
        table, note = find_priced(args.device, args.unit, args.runtime, args.compress)
    else:
        raise NasError("give --table PATH, or --device and --unit to use the shipped table")
    price = price_net(net, table)
    flags = extrapolation(net, price, table)
    if args.json:   # a predicted table's OS assumption is where its other assumptions are: provenance.os_assumed
        cu, recorded = compute_units(table)
        print(json.dumps(price.to_json() | {"runtime": table.runtime, "weights": table.weights,
                                            "weights_note": note, "compute_units": cu,
                                            "compute_units_recorded": recorded}
                         | {"provenance": provenance_of(table), "extrapolation": flags}))
        return 0
    units = f", compute units {describe(table)}" if describe(table) else ""
    os_assumed = (table.provenance or {}).get("os_assumed")   # a predicted table's per-inference floor's OS
    os_text = f", floor of {os_assumed}" if os_assumed else ""
    print(f"{net.name}: {price.total_ms:.3f} ms on {table.device}/{table.unit} "
          f"({price.source}, runtime {table.runtime}, weights {table.weights}{units}{os_text})")
    print(f"  table: {table.source_name} -- {table.summary()}")
    if note:
        print(f"  note: {note}")
    for f in flags:
        print(f"  warning: {f['text']}")
    print(f"  {'overhead':8} {'(per network call)':50} {price.overhead_ms:9.4f} ms")
    for l in price.layers:
        share = l.ms / price.total_ms * 100 if price.total_ms else 0.0
        unit = f"  [{l.unit_used}]" if l.unit_used else ""
        print(f"  {l.position:8} {l.key:50} {l.ms:9.4f} ms {share:5.1f} %{unit}")
    return 0
