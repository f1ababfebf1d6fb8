"""``nas zoo list|show``: the article's models as descriptions, with counts."""

from __future__ import annotations

import json

from nas import zoo
from nas.arch.counts import count
from nas.arch.yaml_io import dump_net


def register(sub) -> None:
    p = sub.add_parser("zoo", help="the article's model zoo")
    zsub = p.add_subparsers(dest="zoo_command", required=True)
    lp = zsub.add_parser("list", help="list zoo models with parameters and MACs")
    lp.add_argument("--json", action="store_true", help="print a JSON array")
    lp.set_defaults(func=cmd_list)
    sp = zsub.add_parser("show", help="print a model's description")
    sp.add_argument("name")
    sp.add_argument("--dsl", action="store_true", help="print the one-line DSL string instead of YAML")
    sp.set_defaults(func=cmd_show)


def zoo_rows() -> list[dict]:
    rows = []
    for name in zoo.names():
        m = zoo.get(name)
        c = count(m.spec)
        h, w = m.spec.input_size
        rows.append({"name": name, "params": c.params, "params_no_bn": c.params_no_bn, "macs": c.macs,
                     "input_size": [h, w], "layers": c.layers,
                     "article_params_m": m.article.get("params_m"), "top1": m.article.get("top1"),
                     "dsl": str(m.spec)})
    return rows


def cmd_list(args) -> int:
    rows = zoo_rows()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'model':24} {'input':>9} {'params':>9} {'MACs':>9} {'layers':>6} {'top-1':>6}")
    for r in rows:
        h, w = r["input_size"]
        top1 = f"{r['top1']:.1f}" if r["top1"] else "-"
        print(f"{r['name']:24} {f'{h}x{w}':>9} {r['params'] / 1e6:8.2f}M {r['macs'] / 1e6:8.0f}M "
              f"{r['layers']:6d} {top1:>6}")
    gone = zoo.unavailable()
    if gone:
        print("\nnot rebuilt (published details too thin):")
        for g in gone:
            print(f"  {g['name']}: {g['reason']}")
    return 0


def cmd_show(args) -> int:
    m = zoo.get(args.name)
    print(str(m.spec) if args.dsl else dump_net(m.spec, m.meta), end="\n" if args.dsl else "")
    return 0
