"""Block-string DSL in timm's spirit, strict in both directions.

A block is ``code_token_token...`` such as ``ir_r2_k3_s2_e6_c24_se0.25``: the
block code, then tokens of the block's token table (``r`` is repeats, shared by
all blocks). Tuples are dotted (``k3.5.7``), flags are bare (``noskip``), names
follow their letter (``ahswish``). The printer writes tokens in the table's
order and leaves defaults out, so a canonical string can serve as a cache key.

A network is ``INPUT:STAGE|STAGE|...`` with blocks of a stage separated by
commas and INPUT ``H``, ``HxW`` or ``HxW/C`` (C input channels, default 3)::

    224:conv_c32_s2_arelu6|ir_c16_k3_e1|ir_r2_c24_s2_e6
"""

from __future__ import annotations

import re

from nas.arch.spec import BlockSpec, NetSpec
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.registry import Token

_INT = re.compile(r"^\d+$")
_FLOAT = re.compile(r"^\d+(\.\d+)?$")
_INTS = re.compile(r"^\d+(\.\d+)*$")
_INPUT = re.compile(r"^(\d+)(?:x(\d+))?(?:/(\d+))?$")


def _parse_value(t: Token, raw: str):
    if t.kind == "bool":
        return True if raw == "" else None
    if t.kind == "int":
        return int(raw) if _INT.match(raw) else None
    if t.kind == "float":
        return float(raw) if _FLOAT.match(raw) else None
    if t.kind == "ints":
        return tuple(int(x) for x in raw.split(".")) if _INTS.match(raw) else None
    if t.choices is not None:
        return raw if raw in t.choices else None
    return raw if raw else None


def _format_value(t: Token, value) -> str:
    if t.kind == "bool":
        return ""
    if t.kind == "float":
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text
    if t.kind == "ints":
        return ".".join(str(v) for v in value)
    return str(value)


def parse_block(text: str) -> BlockSpec:
    """Parse one block string; errors name the offending token as the field."""
    text = text.strip()
    parts = text.split("_")
    if not text or not parts[0]:
        raise SpecError(f"empty block string {text!r}", field="type")
    bt = REGISTRY.get(parts[0])
    values: dict[str, object] = {}
    repeats = 1
    seen: set[str] = set()
    for raw in parts[1:]:
        if re.fullmatch(r"r\d+", raw):
            key, value = "r", int(raw[1:])
            repeats = value
        else:
            match = None
            for t in sorted(bt.tokens, key=lambda t: -len(t.key)):
                if raw.startswith(t.key):
                    v = _parse_value(t, raw[len(t.key):])
                    if v is not None:
                        match = (t, v)
                        break
            if match is None:
                known = " ".join(f"{t.key}<{t.kind}>" for t in bt.tokens)
                raise SpecError(f"bad token {raw!r} in {text!r}; block {bt.code!r} takes r<int> {known}",
                                field=raw)
            key, value = match[0].key, match[1]
            values[match[0].field] = value
        if key in seen:
            raise SpecError(f"token {key!r} given twice in {text!r}", field=raw)
        seen.add(key)
    missing = [t.key for t in bt.tokens if t.required and t.field not in values]
    if missing:
        raise SpecError(f"block {text!r} lacks required token(s) {', '.join(missing)}", field=missing[0])
    try:
        return BlockSpec(bt.code, bt.args(**values), repeats)
    except SpecError as e:
        raise e.at(field=e.field) from None


_FORMATTED: dict[tuple[BlockSpec, bool], str] = {}   # blocks are immutable: a search formats each once


def format_block(block: BlockSpec, *, repeats: bool = True) -> str:
    """Canonical block string: table order, defaults left out."""
    key = (block, repeats)          # hashable: BlockSpec makes its args so
    text = _FORMATTED.get(key)
    if text is None:
        if len(_FORMATTED) > 100_000:
            _FORMATTED.clear()
        text = _FORMATTED[key] = _format_block(block, repeats)
    return text


def _format_block(block: BlockSpec, repeats: bool) -> str:
    bt = REGISTRY.get(block.type)
    out = [bt.code]
    if repeats and block.repeats != 1:
        out.append(f"r{block.repeats}")
    for t in bt.tokens:
        value = getattr(block.args, t.field)
        if t.required or t.always or value != t.default:
            if t.kind == "bool" and not value:
                continue
            out.append(t.key + _format_value(t, value))
    return "_".join(out)


def parse_input(text: str) -> tuple[tuple[int, int], int]:
    m = _INPUT.match(text.strip())
    if not m:
        raise SpecError(f"bad input size {text!r}; expected H, HxW or HxW/C", field="input_size")
    h = int(m.group(1))
    w = int(m.group(2) or h)
    return (h, w), int(m.group(3) or 3)


def format_input(size: tuple[int, int], in_channels: int) -> str:
    h, w = size
    text = str(h) if h == w else f"{h}x{w}"
    if in_channels != 3:
        text = f"{h}x{w}/{in_channels}"
    return text


def parse_net(text: str, name: str = "net", *, file: str | None = None) -> NetSpec:
    """Parse ``INPUT:STAGE|STAGE`` into a NetSpec; errors name the layer ``stage.block``."""
    head, sep, body = text.strip().partition(":")
    if not sep:
        raise SpecError(f"network string must start with the input size and ':' (got {text[:40]!r})",
                        file=file, field="input_size")
    try:
        size, in_ch = parse_input(head)
    except SpecError as e:
        raise e.at(file=file) from None
    stages = []
    for si, stage_text in enumerate(body.split("|")):
        blocks = []
        for bi, block_text in enumerate(stage_text.split(",")):
            try:
                blocks.append(parse_block(block_text))
            except SpecError as e:
                raise e.at(file=file, layer=f"{si}.{bi}") from None
        stages.append(tuple(blocks))
    return NetSpec(name, size, tuple(stages), in_ch)


def format_net(net: NetSpec) -> str:
    return format_input(net.input_size, net.in_channels) + ":" + "|".join(
        ",".join(format_block(b) for b in stage) for stage in net.stages)
