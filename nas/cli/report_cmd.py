"""``nas report``: the zoo and the searched networks compared on one device's latency tables."""

from __future__ import annotations

from nas.cli.latency_cmd import add_compress_arg, add_runtime_arg
from nas.errors import NasError
from nas.report.compare import UNITS, build_comparison
from nas.report.render import render


def register(sub) -> None:
    p = sub.add_parser("report", help="compare zoo models and searched networks (Markdown + PNG plots)")
    p.add_argument("--device", default="iphone11")
    p.add_argument("--unit", choices=UNITS, default="ane", help="the unit the model table is sorted by")
    p.add_argument("--search-dir", action="append", default=[], metavar="DIR",
                   help="a `nas search` output folder (summary.json, best.yaml); repeatable")
    p.add_argument("--model", action="append", default=None, metavar="NAME",
                   help="only these zoo models (repeatable; default: all)")
    p.add_argument("--out", required=True, help="output folder")
    add_runtime_arg(p)
    add_compress_arg(p, "price every network as `nas export --compress` would ship it")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    if "" in args.search_dir:
        raise NasError("--search-dir: an empty path (give a `nas search` output folder)")
    cmp = build_comparison(args.device, args.unit, tuple(args.search_dir),
                           tuple(args.model) if args.model else None, runtime=args.runtime,
                           weights=args.compress)
    md = render(cmp, args.out)
    priced = sum(r.predicted_ms.get(args.unit) is not None for r in cmp.rows)
    print(f"wrote {md} ({len(cmp.rows)} networks, {priced} priced on {args.device}/{args.unit})")
    for unit in UNITS:
        print(f"  {unit}: {cmp.table_notes[unit]}")
    return 0
