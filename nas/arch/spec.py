"""The one architecture description: a network is stages of typed blocks.

``BlockSpec`` holds a registered block type and its frozen argument dataclass;
``NetSpec`` holds the input size and the stages. YAML and the block-string DSL
are only parsers and printers for these classes; the builder, the op-key list,
the counters and the exporter consume them (through ``nas.arch.resolve``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.registry import BlockType

# Sanity bounds on any description (a mobile backbone is far inside them; beyond them a typo or a
# crafted file would only exhaust memory): input side, input channels, block channels and repeats.
MAX_INPUT_SIZE = 4096
MAX_CHANNELS = 16384
MAX_REPEATS = 64
MAX_KERNEL = 63


def _hashable_args(bt: BlockType, args: Any) -> Any:
    """``args`` with list values of tuple fields (``kernel=[3, 5]`` from Python) made tuples.

    The DSL and YAML readers only ever produce hashable values; a Python caller may
    pass a list. Blocks must be hashable: the formatter and the shape rule cache on them.
    """
    lists = {t.field: tuple(v) for t in bt.tokens
             if t.kind == "ints" and isinstance(v := getattr(args, t.field), list)}
    if lists:
        args = dataclasses.replace(args, **lists)
    for t in bt.tokens:
        value = getattr(args, t.field)
        try:
            hash(value)
        except TypeError:
            raise SpecError(f"{t.key} must be {t.kind}, got {value!r}", field=t.key) from None
    return args


@dataclass(frozen=True)
class BlockSpec:
    """One block (repeated ``repeats`` times; only the first repeat keeps the stride)."""

    type: str
    args: Any
    repeats: int = 1

    def __post_init__(self) -> None:
        bt = REGISTRY.get(self.type)
        if not isinstance(self.args, bt.args):
            raise SpecError(f"args of a {self.type!r} block must be {bt.args.__name__}", field="args")
        try:
            hash(self.args)
        except TypeError:
            object.__setattr__(self, "args", _hashable_args(bt, self.args))
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or not 1 <= self.repeats <= MAX_REPEATS:
            raise SpecError(f"repeats must be an integer in 1..{MAX_REPEATS}, got {self.repeats!r}", field="r")
        kernel = getattr(self.args, "kernel", None)
        if kernel is not None:
            ks = kernel if isinstance(kernel, tuple) else (kernel,)
            if not ks or any(not isinstance(k, int) or not 1 <= k <= MAX_KERNEL for k in ks):
                raise SpecError(f"kernel sizes must be integers in 1..{MAX_KERNEL}, got {kernel}", field="k")
        for name, token in (("start_kernel", "ks"), ("mid_kernel", "km")):   # optional kernels (uib): 0 = none
            k = getattr(self.args, name, None)
            if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= MAX_KERNEL):
                raise SpecError(f"kernel sizes must be integers in 0..{MAX_KERNEL}, got {k}", field=token)
        for name in ("out", "mid"):
            v = getattr(self.args, name, None)
            if isinstance(v, int) and v > MAX_CHANNELS:
                raise SpecError(f"{name} channels must be at most {MAX_CHANNELS}, got {v}",
                                field="c" if name == "out" else "m")
        if self.repeats > 1 and not hasattr(self.args, "stride"):
            raise SpecError(f"block {self.type!r} has no stride and cannot repeat", field="r")

    @staticmethod
    def make(type: str, repeats: int = 1, **kwargs: Any) -> "BlockSpec":
        """Build a block from field names: ``BlockSpec.make("ir", out=24, kernel=(3,), expand=6)``."""
        bt = REGISTRY.get(type)
        try:
            args = bt.args(**kwargs)
        except TypeError as e:
            raise SpecError(f"bad arguments for {type!r}: {e}", field="args") from None
        return BlockSpec(type, args, repeats)

    def with_args(self, **changes: Any) -> "BlockSpec":
        return BlockSpec(self.type, dataclasses.replace(self.args, **changes), self.repeats)

    def single(self, first: bool) -> "BlockSpec":
        """One repeat of this block: later repeats run at stride 1."""
        args = self.args
        if not first and getattr(args, "stride", 1) != 1:
            args = dataclasses.replace(args, stride=1)
        return BlockSpec(self.type, args, 1)

    def __str__(self) -> str:
        from nas.arch.dsl import format_block
        return format_block(self)


@dataclass(frozen=True)
class NetSpec:
    """A network: name, input size (H, W), input channels and stages of blocks."""

    name: str
    input_size: tuple[int, int]
    stages: tuple[tuple[BlockSpec, ...], ...]
    in_channels: int = 3

    def __post_init__(self) -> None:
        h, w = self.input_size
        if not (1 <= h <= MAX_INPUT_SIZE and 1 <= w <= MAX_INPUT_SIZE and 1 <= self.in_channels <= MAX_CHANNELS):
            raise SpecError(f"input size must be 1..{MAX_INPUT_SIZE} per side with 1..{MAX_CHANNELS} channels, "
                            f"got {self.in_channels}x{h}x{w}", field="input_size")
        if not self.stages or any(not s for s in self.stages):
            raise SpecError("a network needs at least one stage and no empty stage", field="stages")

    @property
    def blocks(self) -> tuple[BlockSpec, ...]:
        return tuple(b for stage in self.stages for b in stage)

    def __str__(self) -> str:
        from nas.arch.dsl import format_net
        return format_net(self)
