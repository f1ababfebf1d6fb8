"""``nas spaces list|show|sample``: the shipped search spaces."""

from __future__ import annotations

import json

import numpy as np

from nas.bounds import int_in, seed
from nas.spaces import load_space, space_names

MAX_SAMPLES = 1_000_000


def register(sub) -> None:
    p = sub.add_parser("spaces", help="search spaces")
    ssub = p.add_subparsers(dest="spaces_command", required=True)
    lp = ssub.add_parser("list", help="list the shipped spaces and how many architectures each holds")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)
    sp = ssub.add_parser("show", help="a space's decisions and options")
    sp.add_argument("name")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_show)
    rp = ssub.add_parser("sample", help="random architectures of a space, as DSL strings")
    rp.add_argument("name")
    rp.add_argument("-n", type=int, default=1)
    rp.add_argument("--seed", type=int, default=0)
    rp.set_defaults(func=cmd_sample)


def space_summary(name: str) -> dict:
    s = load_space(name)
    return {"name": s.name, "description": s.description, "input_size": list(s.input_size),
            "decisions": len(s.decisions), "architectures": s.size(),
            "architectures_log10": round(float(np.log10(float(s.size()))), 2)}


def cmd_list(args) -> int:
    rows = [space_summary(n) for n in space_names()]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['name']:10} {r['decisions']:3d} decisions  {r['architectures']:.3e} architectures")
    return 0


def cmd_show(args) -> int:
    s = load_space(args.name)
    info = space_summary(args.name) | {
        "choices": [{"name": d.name, "options": list(d.options)} for d in s.decisions]}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{s.name}: {s.description}\n{info['architectures']} architectures "
          f"(10^{info['architectures_log10']}), input {s.input_size[0]}x{s.input_size[1]}")
    for d in s.decisions:
        print(f"  {d.name:12} {' | '.join(d.options)}")
    return 0


def cmd_sample(args) -> int:
    int_in("-n", args.n, 1, MAX_SAMPLES)
    seed("--seed", args.seed)
    s = load_space(args.name)
    rng = np.random.default_rng(args.seed)
    for choices in s.sample(rng, args.n):
        print(s.decode(choices))
    return 0
