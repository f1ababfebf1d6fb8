"""The op entries a latency table needs: every unique (block, input shape) of a space or a network.

An entry is one resolved layer reduced to what a table keys on: the canonical
block string plus its input shape (``nas.arch.resolve.op_key``). Spaces give
theirs through ``Space.factors`` (stem and head included); zoo models and
``--arch`` networks through ``resolve``; ``--ops KEY`` strings are parsed back.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from nas.arch.dsl import parse_block
from nas.arch.resolve import block_out_shape, op_key, resolve
from nas.arch.spec import BlockSpec, NetSpec
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.registry import Shape
from nas.spaces.base import Space


@dataclass(frozen=True)
class OpEntry:
    """One op to profile: its table key, block and shapes (C, H, W)."""

    key: str
    block: BlockSpec
    in_shape: Shape
    out_shape: Shape

    @property
    def seed(self) -> int:
        """A stable per-key seed for the op's random weights and inputs."""
        return zlib.crc32(self.key.encode())

    def build(self):
        """The op's torch module in eval mode, with weights seeded from its key."""
        import torch
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            return REGISTRY.get(self.block.type).build(self.block.args, self.in_shape).eval()


def _entry(block: BlockSpec, in_shape: Shape) -> OpEntry:
    return OpEntry(op_key(block, in_shape), block, tuple(in_shape), block_out_shape(block, tuple(in_shape)))


def space_ops(space: Space) -> list[OpEntry]:
    """Every unique op any architecture of ``space`` contains, in space order."""
    return unique(_entry(l.block, l.in_shape) for f in space.factors for row in f.layers for l in row)


def net_ops(net: NetSpec) -> list[OpEntry]:
    return unique(_entry(l.block, l.in_shape) for l in resolve(net))


def parse_op_key(key: str) -> OpEntry:
    """``ir_k3_s2_e6_c24@16x112x112`` -> its entry; the key must round-trip exactly."""
    block_text, sep, shape_text = key.partition("@")
    try:
        shape = tuple(int(v) for v in shape_text.split("x"))
    except ValueError:
        shape = ()
    if not sep or len(shape) != 3 or min(shape) < 1:
        raise SpecError(f"an op key is BLOCK@CxHxW (e.g. ir_k3_s2_e6_c24@16x112x112), got {key!r}",
                        field="ops")
    block = parse_block(block_text)
    if block.repeats != 1:
        raise SpecError(f"an op key names one repeat, got {block_text!r}", field="ops")
    entry = _entry(block, shape)  # type: ignore[arg-type]
    if entry.key != key:
        raise SpecError(f"{key!r} is not canonical; write it as {entry.key!r}", field="ops")
    return entry


def unique(entries: Iterable[OpEntry]) -> list[OpEntry]:
    seen: dict[str, OpEntry] = {}
    for e in entries:
        seen.setdefault(e.key, e)
    return list(seen.values())


def collect(*, space: Space | None = None, nets: Sequence[NetSpec] = (), keys: Sequence[str] = ()
            ) -> list[OpEntry]:
    """The union of a space's, some networks' and explicit keys' ops, without duplicates."""
    entries: list[OpEntry] = []
    if space is not None:
        entries += space_ops(space)
    for net in nets:
        entries += net_ops(net)
    entries += [parse_op_key(k) for k in keys]
    if not entries:
        raise SpecError("nothing to profile: give --space, --zoo/--zoo-all or --ops", field="space")
    return unique(entries)
