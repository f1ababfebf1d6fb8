"""Resolve shapes once: expand repeats, propagate shapes, key every layer.

``resolve(net)`` returns the flat, indexed layer list that the builder, the
latency pricer, the counters and the exporter all consume. A layer's latency
key is its canonical block string (without repeats) plus its input shape, e.g.
``ir_c24_k3_s2_e6@16x112x112`` -- the key latency tables are indexed by.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nas.arch.dsl import format_block
from nas.arch.spec import BlockSpec, NetSpec
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.registry import Shape


def shape_str(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


def op_key(block: BlockSpec, in_shape: Shape) -> str:
    """Canonical latency-table key of one block at one input shape."""
    return f"{format_block(block, repeats=False)}@{shape_str(in_shape)}"


@dataclass(frozen=True)
class Layer:
    """One resolved layer (a single repeat of a block) at known shapes."""

    index: int
    stage: int
    position: str  # "stage.block.repeat", for messages
    block: BlockSpec
    in_shape: Shape
    out_shape: Shape

    @property
    def key(self) -> str:
        return op_key(self.block, self.in_shape)


@lru_cache(maxsize=65536)
def block_out_shape(block: BlockSpec, in_shape: Shape) -> Shape:
    """Output shape of one block repeat; raises SpecError when the shapes break."""
    bt = REGISTRY.get(block.type)
    stride = getattr(block.args, "stride", 1)
    if stride > 1 and min(in_shape[1:]) < stride:
        raise SpecError(f"stride {stride} on a {in_shape[1]}x{in_shape[2]} feature map: the "
                        f"network downsamples past 1x1", field="s")
    out = bt.out_shape(block.args, in_shape)
    if min(out) < 1:
        raise SpecError(f"output shape {shape_str(out)} from input {shape_str(in_shape)} is empty "
                        f"(stride or kernel too large for the feature map)", field="s")
    return out


def resolve(net: NetSpec, *, file: str | None = None) -> tuple[Layer, ...]:
    """Expand repeats and propagate shapes through ``net``."""
    shape: Shape = (net.in_channels, *net.input_size)
    layers = []
    for si, stage in enumerate(net.stages):
        for bi, block in enumerate(stage):
            for ri in range(block.repeats):
                single = block.single(first=ri == 0)
                pos = f"{si}.{bi}" + (f".{ri}" if block.repeats > 1 else "")
                try:
                    out = block_out_shape(single, shape)
                except SpecError as e:
                    raise e.at(file=file, layer=f"{pos} ({format_block(single)} at input "
                                                 f"{shape_str(shape)})") from None
                layers.append(Layer(len(layers), si, pos, single, shape, out))
                shape = out
    return tuple(layers)


def op_keys(net: NetSpec) -> list[str]:
    """The ordered latency-table keys of a network."""
    return [layer.key for layer in resolve(net)]
