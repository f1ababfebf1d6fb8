"""YAML form of a network: readable, writable, and checked with file/layer/field errors.

::

    name: mobilenet_v2
    input_size: 224            # or [H, W]
    in_channels: 3             # optional
    stages:
      - [conv_k3_s2_c32_arelu6]
      - [ir_k3_s1_e1_c16_arelu6]
      - [{type: ir, r: 2, k: 3, s: 2, e: 6, c: 24, a: relu6}]   # mapping form, same tokens

A block is a DSL string or a mapping of DSL tokens (or field names) to values.
Besides ``NET_KEYS``, only the metadata keys of ``META_KEYS`` are allowed at the
top level (kept for the caller: the zoo's provenance, a search's scores); any
other key is refused as a likely typo (``stage:``, ``input-size:``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from nas import safeyaml
from nas.arch.dsl import format_block, parse_block
from nas.arch.spec import BlockSpec, NetSpec
from nas.errors import SpecError
from nas.ops import REGISTRY

NET_KEYS = ("name", "input_size", "in_channels", "stages")
# Metadata a description may carry: the zoo's (article, paper, reference, notes, backbone_stages, published:
# the paper's own parameter count for models the article does not quote) and
# what `nas search` writes into best.yaml (latency_ms, accuracy, accuracy_kind). Add a key here to allow it.
META_KEYS = ("article", "paper", "reference", "notes", "backbone_stages", "published", "description",
             "latency_ms", "accuracy", "accuracy_kind")


def _block_from_mapping(m: dict) -> BlockSpec:
    m = dict(m)
    code = m.pop("type", None)
    if not isinstance(code, str):
        raise SpecError("a block mapping needs 'type' (a block code)", field="type")
    bt = REGISTRY.get(code)
    if "r" in m and "repeats" in m:
        raise SpecError("give r or repeats, not both", field="r")
    repeats = m.pop("r", m.pop("repeats", 1))
    if isinstance(repeats, bool) or not isinstance(repeats, int):
        raise SpecError(f"repeats must be a positive integer, got {repeats!r}", field="r")
    values = {}
    for key, value in m.items():
        t = bt.token(key) or next((t for t in bt.tokens if t.field == key), None)
        if t is None:
            raise SpecError(f"block {code!r} has no field {key!r}", field=str(key))
        if t.kind == "ints":
            value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        ok = {"int": int, "float": (int, float), "bool": bool, "str": str, "ints": tuple}[t.kind]
        if not isinstance(value, ok) or (t.kind == "int" and isinstance(value, bool)):
            raise SpecError(f"{key!r} must be {t.kind}, got {value!r}", field=str(key))
        if t.choices and value not in t.choices:
            raise SpecError(f"{key!r} must be one of {', '.join(t.choices)}, got {value!r}", field=str(key))
        values[t.field] = float(value) if t.kind == "float" else value
    if not isinstance(repeats, int) or repeats < 1:
        raise SpecError(f"repeats must be a positive integer, got {repeats!r}", field="r")
    try:
        return BlockSpec(code, bt.args(**values), repeats)
    except TypeError as e:
        raise SpecError(f"block {code!r}: {e}", field="args") from None


def net_from_dict(data: Any, *, file: str | None = None) -> NetSpec:
    """Build a NetSpec from parsed YAML; errors name the file, layer and field."""
    if not isinstance(data, dict):
        raise SpecError("expected a mapping with name, input_size and stages", file=file)
    for key in ("name", "input_size", "stages"):
        if key not in data:
            raise SpecError(f"missing required key {key!r}", file=file, field=key)
    unknown = [k for k in data if k not in NET_KEYS and k not in META_KEYS]
    if unknown:
        raise SpecError(f"unknown top-level key {unknown[0]!r}; a network takes {', '.join(NET_KEYS)} and the "
                        f"metadata keys {', '.join(META_KEYS)}", file=file, field=str(unknown[0])[:40])
    size = data["input_size"]
    if isinstance(size, int):
        size = (size, size)
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise SpecError(f"input_size must be an integer or [H, W], got {data['input_size']!r}",
                        file=file, field="input_size")
    stages_raw = data["stages"]
    if not isinstance(stages_raw, list) or not stages_raw:
        raise SpecError("stages must be a non-empty list of lists of blocks", file=file, field="stages")
    stages = []
    for si, stage in enumerate(stages_raw):
        if not isinstance(stage, list) or not stage:
            raise SpecError("each stage must be a non-empty list of blocks", file=file,
                            layer=str(si), field="stages")
        blocks = []
        for bi, item in enumerate(stage):
            try:
                if isinstance(item, str):
                    blocks.append(parse_block(item))
                elif isinstance(item, dict):
                    blocks.append(_block_from_mapping(item))
                else:
                    raise SpecError(f"a block is a DSL string or a mapping, got {item!r}", field="block")
            except SpecError as e:
                raise e.at(file=file, layer=f"{si}.{bi}") from None
        stages.append(tuple(blocks))
    in_ch = data.get("in_channels", 3)
    if not isinstance(in_ch, int) or isinstance(in_ch, bool):
        raise SpecError(f"in_channels must be an integer, got {in_ch!r}", file=file, field="in_channels")
    try:
        return NetSpec(str(data["name"]), (size[0], size[1]), tuple(stages), in_ch)
    except SpecError as e:
        raise e.at(file=file) from None


def read_yaml(path: str | os.PathLike) -> Any:
    """Load a YAML file safely, turning syntax errors into SpecError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"not a YAML text file (not UTF-8 at byte {e.start})", file=str(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", file=str(path)) from None
    try:
        return safeyaml.load(text)     # safe, unique keys, no alias bombs, bounded nesting
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"malformed YAML{where}: {getattr(e, 'problem', e)}", file=str(path)) from None


def load_net(path: str | os.PathLike) -> NetSpec:
    """Read a network from a YAML file."""
    from nas.arch.resolve import resolve
    net = net_from_dict(read_yaml(path), file=str(path))
    resolve(net, file=str(path))  # shapes must work out
    return net


def net_to_dict(net: NetSpec) -> dict:
    data: dict[str, Any] = {"name": net.name}
    h, w = net.input_size
    data["input_size"] = h if h == w else [h, w]
    if net.in_channels != 3:
        data["in_channels"] = net.in_channels
    data["stages"] = [[format_block(b) for b in stage] for stage in net.stages]
    return data


def dump_net(net: NetSpec, extra: dict | None = None) -> str:
    """YAML text of a network (blocks as canonical DSL strings), with optional metadata."""
    data = net_to_dict(net)
    if extra:
        data.update({k: v for k, v in extra.items() if k not in NET_KEYS})
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
