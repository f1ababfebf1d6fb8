"""``nas arch show``: resolve a description (YAML file or DSL string) and print its layers."""

from __future__ import annotations

import json
from pathlib import Path

from nas.arch.counts import count
from nas.arch.dsl import parse_net
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.arch.yaml_io import load_net


def register(sub) -> None:
    p = sub.add_parser("arch", help="inspect an architecture description")
    asub = p.add_subparsers(dest="arch_command", required=True)
    sp = asub.add_parser("show", help="layers, shapes, op keys and counts of a description")
    sp.add_argument("arch", help="a YAML file, or a DSL string such as '224:conv_k3_s2_c16|...'")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_show)


def add_net_source(parser) -> None:
    """``--model ZOO_NAME | --arch FILE_OR_DSL``, one of them required (latency, export)."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="a zoo model name (nas zoo list)")
    what.add_argument("--arch", help="a YAML file or a DSL string")


def net_from_args(args) -> NetSpec:
    from nas import zoo
    return zoo.get(args.model).spec if args.model is not None else load_arch(args.arch)


def load_arch(text: str) -> NetSpec:
    """A YAML path or a DSL string; the one loader every command uses for ``--arch``."""
    try:
        is_file = Path(text).is_file()
    except OSError:  # a long DSL string is not a valid file name
        is_file = False
    if Path(text).suffix in (".yaml", ".yml") or is_file:
        return load_net(text)
    net = parse_net(text, name="arch")
    resolve(net)
    return net


def cmd_show(args) -> int:
    net = load_arch(args.arch)
    layers = resolve(net)
    c = count(net)
    if args.json:
        print(json.dumps({"name": net.name, "dsl": str(net), "params": c.params, "macs": c.macs,
                          "layers": [{"position": l.position, "key": l.key, "out_shape": l.out_shape}
                                     for l in layers]}, indent=1))
        return 0
    for l in layers:
        print(f"{l.position:8} {l.key:50} -> {'x'.join(map(str, l.out_shape))}")
    print(f"{c.params / 1e6:.3f}M params, {c.macs / 1e6:.1f}M MACs, {len(layers)} layers")
    return 0
