"""A search space: categorical decisions, and segments that turn them into blocks.

An architecture in a space is a vector of option indices, one per decision.
``decode`` turns it into a NetSpec. The network is a chain of *segments* (a
searchable layer, a stage, the stem, the head); each segment's blocks depend
on its own decisions only, and its input channels on the segment before it.
That structure is what makes pricing a batch of architectures array
arithmetic: a segment's price is a small table over the decisions it depends
on (see ``nas.latency.pricing``), and a network's price is the sum of lookups.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from nas.arch.resolve import Layer, resolve
from nas.arch.spec import BlockSpec, NetSpec
from nas.errors import SpecError


@dataclass(frozen=True)
class Decision:
    """One categorical choice: its name and option labels."""

    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Segment:
    """A run of blocks in one NetSpec stage, built from the values of ``own`` decisions."""

    name: str
    stage: int
    own: tuple[int, ...]
    make: Callable[[tuple[int, ...]], tuple[BlockSpec, ...]]   # pure: same values, same blocks (memoized)


@dataclass(frozen=True)
class Factor:
    """What pricing needs of a segment: the decisions it depends on and its layers per combination."""

    segment: int
    deps: tuple[int, ...]            # decision indices, own first, then the previous segment's channel deps
    shape: tuple[int, ...]           # number of options of each dep
    layers: tuple[tuple[Layer, ...], ...]  # row-major over the product of deps' options


class Space:
    """Decisions + segments. Subclasses (or the YAML loader) supply both."""

    def __init__(self, name: str, description: str, input_size: tuple[int, int],
                 decisions: Sequence[Decision], segments: Sequence[Segment], in_channels: int = 3):
        self.name, self.description = name, description
        self.input_size, self.in_channels = input_size, in_channels
        self.decisions = tuple(decisions)
        self.segments = tuple(segments)
        self.benchmark = None   # a BenchmarkInfo when every network of the space was trained (nas.spaces.benchmark)
        self._made: dict[tuple[int, tuple[int, ...]], tuple[BlockSpec, ...]] = {}   # segment builds, memoized
        for seg in self.segments:
            for d in seg.own:
                if not 0 <= d < len(self.decisions):
                    raise SpecError(f"segment {seg.name} reads decision {d} of {len(self.decisions)}",
                                    file=name)

    # -- architectures -----------------------------------------------------------------------
    @property
    def cardinalities(self) -> np.ndarray:
        return np.array([len(d.options) for d in self.decisions], dtype=np.int64)

    def size(self) -> int:
        """Number of decision vectors (architectures) the space holds."""
        return math.prod(len(d.options) for d in self.decisions)

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """One decision vector (or ``n`` of them, shape (n, D)), uniformly at random."""
        size = (len(self.decisions),) if n is None else (n, len(self.decisions))
        return (rng.random(size) * self.cardinalities).astype(np.int64)

    def check(self, choices: Sequence[int]) -> tuple[int, ...]:
        choices = tuple(int(c) for c in choices)
        if len(choices) != len(self.decisions):
            raise SpecError(f"{self.name}: expected {len(self.decisions)} decisions, got {len(choices)}",
                            field="choices")
        for i, (c, d) in enumerate(zip(choices, self.decisions)):
            if not 0 <= c < len(d.options):
                raise SpecError(f"{self.name}: decision {d.name} has {len(d.options)} options, got {c}",
                                field=d.name)
        return choices

    def decode(self, choices: Sequence[int], name: str | None = None) -> NetSpec:
        choices = self.check(choices)
        stages: dict[int, list[BlockSpec]] = {}
        made = self._made   # segment builds are pure: each is made once (search speed)
        for i, seg in enumerate(self.segments):
            key = (i, tuple(choices[d] for d in seg.own))
            blocks = made.get(key)
            if blocks is None:
                blocks = made[key] = tuple(seg.make(key[1]))
            stages.setdefault(seg.stage, []).extend(blocks)
        return NetSpec(name or f"{self.name}_arch", self.input_size,
                       tuple(tuple(stages[s]) for s in sorted(stages) if stages[s]), self.in_channels)

    def encode(self, net: NetSpec) -> tuple[int, ...] | None:
        """The decision vector that decodes to ``net``, or None if the space cannot express it.

        Decodes segment by segment, so the search is per segment, not over the whole space.
        """
        target = _expanded(net.blocks)
        options = [
            [(values, _expanded(seg.make(values))) for values in
             itertools.product(*(range(len(self.decisions[d].options)) for d in seg.own))]
            for seg in self.segments]

        def search(si: int, pos: int) -> list[tuple[int, ...]] | None:
            # Depth-first with backtracking: a short stage can match the prefix of a longer one.
            if si == len(self.segments):
                return [] if pos == len(target) else None
            for values, blocks in options[si]:
                if target[pos:pos + len(blocks)] == blocks:
                    rest = search(si + 1, pos + len(blocks))
                    if rest is not None:
                        return [values] + rest
            return None

        found = search(0, 0)
        if found is None:
            return None
        choices = [0] * len(self.decisions)
        for seg, values in zip(self.segments, found):
            for d, v in zip(seg.own, values):
                choices[d] = v
        return tuple(choices)

    # -- pricing structure -------------------------------------------------------------------
    @cached_property
    def factors(self) -> tuple[Factor, ...]:
        """Per segment: its dependencies and its resolved layers for every combination."""
        h, w = self.input_size
        factors: list[Factor] = []
        prev_deps: tuple[int, ...] = ()
        prev_out: Callable[[dict[int, int]], tuple[int, int, int]] = lambda v: (self.in_channels, h, w)
        for si, seg in enumerate(self.segments):
            deps = tuple(seg.own) + tuple(d for d in prev_deps if d not in seg.own)
            shape = tuple(len(self.decisions[d].options) for d in deps)
            rows = []
            outs = {}
            for values in itertools.product(*(range(n) for n in shape)):
                vmap = dict(zip(deps, values))
                in_shape = prev_out(vmap)
                blocks = seg.make(tuple(vmap[d] for d in seg.own))
                net = NetSpec("segment", in_shape[1:], (tuple(blocks),), in_shape[0])
                try:
                    layers = resolve(net)
                except SpecError as e:
                    where = f"segment {seg.name}" + (f", block {e.layer}" if e.layer else "")
                    raise SpecError(e.reason, file=e.file or f"space {self.name}", layer=where, field=e.field) from None
                rows.append(layers)
                outs[values] = layers[-1].out_shape
            # Which of deps change this segment's output shape? Only those carry to the next one.
            varying = tuple(d for i, d in enumerate(deps) if _depends_on(outs, i))
            factors.append(Factor(si, deps, shape, tuple(rows)))
            prev_deps = varying

            def prev_out(vmap, _deps=deps, _outs=outs, _shape=shape):
                key = tuple(vmap.get(d, 0) for d in _deps)
                return _outs[key]
        return tuple(factors)


def _expanded(blocks: Sequence[BlockSpec]) -> list[str]:
    """Canonical strings of single repeats, so ``ir_r2`` equals two ``ir`` blocks."""
    out = []
    for b in blocks:
        out.extend([str(b.single(first=True))] + [str(b.single(first=False))] * (b.repeats - 1))
    return out


def _depends_on(outs: dict[tuple[int, ...], object], i: int) -> bool:
    """True if changing only position ``i`` of the key ever changes the value."""
    groups: dict[tuple[int, ...], set] = {}
    for key, value in outs.items():
        groups.setdefault(key[:i] + key[i + 1:], set()).add(value)
    return any(len(v) > 1 for v in groups.values())
