"""Search spaces from YAML (``search_spaces/*.yaml``): plain data naming registered blocks.

Two kinds:

``layerwise`` (FBNet, our ``ios`` space): fixed stem and head; stages given as
``{c, n, s}`` (channels, layers, first stride); every layer picks one of the
``candidates`` -- block strings without ``c`` and ``s``, which each layer fills
in. Optional ``width_mults``: one decision per stage scaling its channels
(rounded to a multiple of 8).

``stagewise`` (MnasNet's factorized hierarchical space): per stage, decisions
``op`` (block templates), ``kernel``, ``expand``, ``se``, ``layers`` (added to
the stage's base count) and ``width`` (multiplier of its base channels); all
layers of a stage share them.
"""

from __future__ import annotations

import math

from functools import lru_cache
from pathlib import Path

from nas.arch.dsl import parse_block
from nas.arch.spec import MAX_CHANNELS, MAX_REPEATS, BlockSpec
from nas.arch.yaml_io import read_yaml
from nas.errors import SpecError
from nas.ops.common import make_divisible
from nas.spaces.base import Decision, Segment, Space
from nas.spaces.benchmark import benchmark_info

SPACES_DIR = Path(__file__).resolve().parents[2] / "search_spaces"


def _blocks(items, file: str, where: str) -> tuple[BlockSpec, ...]:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise SpecError("expected a list of block strings", file=file, field=where)
    out = []
    for i, text in enumerate(items):
        try:
            out.append(parse_block(text))
        except SpecError as e:
            raise e.at(file=file, layer=f"{where}[{i}]") from None
    return tuple(out)


def _stages(data: dict, file: str) -> list[tuple[int, int, int]]:
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise SpecError("stages must be a non-empty list of {c, n, s}", file=file, field="stages")
    out = []
    for i, st in enumerate(stages):
        if not isinstance(st, dict) or set(st) != {"c", "n", "s"} or not all(
                isinstance(st[k], int) and not isinstance(st[k], bool) and st[k] > 0 for k in "cns"):
            raise SpecError(f"stage must be {{c, n, s}} with positive integers, got {str(st)[:80]}", file=file,
                            layer=f"stage {i}", field="stages")
        if st["c"] > MAX_CHANNELS or st["n"] > MAX_REPEATS:   # bounds of the DSL: a crafted n would exhaust memory
            raise SpecError(f"stage needs c <= {MAX_CHANNELS} and n <= {MAX_REPEATS}, got {str(st)[:80]}",
                            file=file, layer=f"stage {i}", field="stages")
        out.append((st["c"], st["n"], st["s"]))
    return out


def _filled(template: str, channels: int, stride: int, file: str, where: str, **extra) -> BlockSpec:
    tokens = "".join(f"_{k}{v}" for k, v in extra.items())
    try:
        return parse_block(f"{template}_s{stride}_c{channels}{tokens}")
    except SpecError as e:
        raise e.at(file=file, layer=where) from None


def _layerwise(name: str, data: dict, file: str) -> Space:
    stem = _blocks(data.get("stem"), file, "stem")
    head = _blocks(data.get("head"), file, "head")
    stages = _stages(data, file)
    cands = data.get("candidates")
    if not isinstance(cands, list) or not cands or not all(isinstance(c, str) for c in cands):
        raise SpecError("candidates must be a non-empty list of block templates", file=file,
                        field="candidates")
    if len(set(cands)) != len(cands):
        dup = next(c for c in cands if cands.count(c) > 1)
        raise SpecError(f"candidate {dup[:40]!r} is listed twice (it would be sampled twice as often)", file=file,
                        field="candidates")
    for i, c in enumerate(cands):  # validate templates once, at a neutral size
        _filled(c, 8, 1, file, f"candidates[{i}]")
    widths = data.get("width_mults") or [1.0]
    decisions, segments = [], [Segment("stem", 0, (), lambda v, b=stem: b)]
    n_layers = sum(n for _, n, _ in stages)
    width_dec = {}
    if len(widths) > 1:
        width_dec = {si: n_layers + si for si in range(len(stages))}
    layer = 0
    for si, (c, n, s) in enumerate(stages):
        for li in range(n):
            decisions.append(Decision(f"s{si}.l{li}", tuple(cands)))
            own = (layer,) + ((width_dec[si],) if width_dec else ())
            stride = s if li == 0 else 1

            def make(v, c=c, stride=stride, where=f"stage {si} layer {li}"):
                ch = make_divisible(c * widths[v[1]], 8) if len(v) > 1 else c
                return (_filled(cands[v[0]], ch, stride, file, where),)
            segments.append(Segment(f"s{si}.l{li}", si + 1, own, make))
            layer += 1
    for si in width_dec:
        decisions.append(Decision(f"s{si}.width", tuple(str(w) for w in widths)))
    segments.append(Segment("head", len(stages) + 1, (), lambda v, b=head: b))
    return Space(name, str(data.get("description", "")), _size(data, file), decisions, segments)


def _stagewise(name: str, data: dict, file: str) -> Space:
    stem = _blocks(data.get("stem"), file, "stem")
    head = _blocks(data.get("head"), file, "head")
    stages = _stages(data, file)
    ch = data.get("choices")
    keys = ("op", "kernel", "expand", "se", "layers", "width")
    if not isinstance(ch, dict) or set(ch) != set(keys) or not all(
            isinstance(ch[k], list) and ch[k] for k in keys):
        raise SpecError(f"choices must map each of {', '.join(keys)} to a non-empty list", file=file,
                        field="choices")
    _check_choices(ch, file)
    decisions, segments = [], [Segment("stem", 0, (), lambda v, b=stem: b)]
    for si, (c, n, s) in enumerate(stages):
        base = len(decisions)
        decisions += [Decision(f"s{si}.{k}", tuple(str(o) for o in ch[k])) for k in keys]

        def make(v, c=c, n=n, s=s, where=f"stage {si}"):
            op, k, e, se, dn, w = (ch[key][i] for key, i in zip(keys, v))
            layers = max(1, n + int(dn))
            width = make_divisible(c * float(w), 8)
            extra = {"k": k} | ({"e": e} if op.startswith("ir") else {}) | ({"se": se} if se and op.startswith("ir") else {})
            first = _filled(op, width, s, file, where, **extra)
            return (BlockSpec(first.type, first.args, layers),)
        segments.append(Segment(f"stage{si}", si + 1, tuple(range(base, base + len(keys))), make))
    segments.append(Segment("head", len(stages) + 1, (), lambda v, b=head: b))
    return Space(name, str(data.get("description", "")), _size(data, file), decisions, segments)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_choices(ch: dict, file: str) -> None:
    """Every option of a stagewise space, checked when the file is read (not when a candidate is decoded)."""
    rules = {"op": (lambda v: isinstance(v, str) and 0 < len(v) <= 40, "a block code such as ir or ds"),
             "kernel": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 63 and v % 2,
                        "an odd integer in 1..63"),
             "expand": (lambda v: _number(v) and 0 < v <= 64, "a number in (0, 64]"),
             "se": (lambda v: _number(v) and 0 <= v <= 1, "a number in [0, 1]"),
             "layers": (lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) <= MAX_REPEATS,
                        f"an integer in -{MAX_REPEATS}..{MAX_REPEATS}"),
             "width": (lambda v: _number(v) and 0 < v <= 16, "a number in (0, 16]")}
    for key, (ok, what) in rules.items():
        for i, v in enumerate(ch[key]):
            if not ok(v):
                raise SpecError(f"option must be {what}, got {str(v)[:40]!r}", file=file, field=f"choices.{key}[{i}]")
        if len(set(map(str, ch[key]))) != len(ch[key]):
            raise SpecError("an option is listed twice", file=file, field=f"choices.{key}")
    for i, op in enumerate(ch["op"]):     # each block type with each kernel, at a neutral size
        for k in ch["kernel"]:
            _filled(op, 8, 1, file, f"choices.op[{i}]", k=k, **({"e": ch["expand"][0]} if op.startswith("ir") else {}))


def _size(data: dict, file: str) -> tuple[int, int]:
    size = data.get("input_size", 224)
    if isinstance(size, int) and size > 0:
        return (size, size)
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return (size[0], size[1])
    raise SpecError(f"input_size must be a positive integer or [H, W], got {size!r}", file=file,
                    field="input_size")


def load_space_file(path: str | Path) -> Space:
    path = Path(path)
    data = read_yaml(path)
    file = str(path)
    if not isinstance(data, dict):
        raise SpecError("a search space is a mapping", file=file)
    kind = data.get("kind")
    builders = {"layerwise": _layerwise, "stagewise": _stagewise}
    if not isinstance(kind, str) or kind not in builders:
        raise SpecError(f"kind must be one of {', '.join(builders)}, got {str(kind)[:40]!r}", file=file,
                        field="kind")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise SpecError(f"name must be a non-empty string, got {str(name)[:40]!r}", file=file, field="name")
    space = builders[kind](name, data, file)
    space.benchmark = benchmark_info(data, path)
    return space


def space_names() -> list[str]:
    return sorted(p.stem for p in SPACES_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def load_space(name_or_path: str) -> Space:
    """A shipped space by name (``fbnet``, ``mnasnet``, ``ios``) or a YAML path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return load_space_file(path)
    path = SPACES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise SpecError(f"unknown search space {name_or_path!r}; shipped: {', '.join(space_names())}",
                        field="space")
    return load_space_file(path)
