"""FBNet's supernet: each searchable layer is a weighted mix of its candidate blocks.

Candidates come from the space's own segments (so from the block registry):
no second definition of a block. Only layer-choice decisions are searched;
other decisions (the ``ios`` space's per-stage widths) stay at a fixed option,
because a mixture needs every candidate of a layer to share its input and
output shapes. The latency term is linear in the mixture weights::

    LAT(m) = const + sum_l sum_i m[l, i] * t[l, i]

with ``t`` read from the latency table at the space's real input size, so it
equals the table price of the architecture when ``m`` is one-hot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.latency.pricing import SpacePricer
from nas.ops import REGISTRY
from nas.spaces.base import Space


@dataclass(frozen=True)
class SearchLayout:
    """Which decisions are searched, and the fixed option of every other decision."""

    searched: tuple[int, ...]
    fixed: tuple[int, ...]          # an option index per decision (used for the non-searched ones)


def layout_for(space: Space) -> SearchLayout:
    """Search every decision that is the first (layer) choice of a one-block segment."""
    searched = []
    for seg in space.segments:
        if seg.own and len(seg.make(tuple(0 for _ in seg.own))) == 1:
            searched.append(seg.own[0])
    if not searched:
        raise NasError(f"space {space.name!r} has no layer-wise choices; dnas needs a layer-wise space "
                       f"such as fbnet or ios")
    fixed = []
    for i, d in enumerate(space.decisions):
        # Non-searched decisions sit at the option labelled 1.0 when there is one (width), else 0.
        fixed.append(d.options.index("1.0") if i not in searched and "1.0" in d.options else 0)
    return SearchLayout(tuple(searched), tuple(fixed))


def candidate_latency(space: Space, pricer: SpacePricer, layout: SearchLayout) -> tuple[float, np.ndarray]:
    """``(const_ms, t)`` with ``t[l, i]`` the table latency of candidate i at searched layer l."""
    n_opts = max(len(space.decisions[d].options) for d in layout.searched)
    t = np.zeros((len(layout.searched), n_opts))
    const = pricer.overhead_ms
    row = {d: l for l, d in enumerate(layout.searched)}
    for table, deps, shape in zip(pricer.tables, pricer.deps, pricer.shapes):
        s = [d for d in deps if d in row]
        if len(s) > 1:
            raise NasError(f"a factor of space {space.name!r} depends on two searched layers")
        if not s:
            idx = np.ravel_multi_index(tuple(layout.fixed[d] for d in deps), shape) if deps else 0
            const += float(table[idx])
            continue
        d = s[0]
        for i in range(len(space.decisions[d].options)):
            values = tuple(i if dep == d else layout.fixed[dep] for dep in deps)
            t[row[d], i] += float(table[np.ravel_multi_index(values, shape)])
    return const, t


class MixedLayer(nn.Module):
    """Weighted sum of candidate blocks that share input and output shapes."""

    def __init__(self, candidates: list[nn.Module]):
        super().__init__()
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = 0
        for w, block in zip(weights, self.candidates):
            # Skip exact zeros (hard one-hot sampling) to save the candidate's compute.
            if w.detach().item() != 0.0 or w.requires_grad:
                out = out + w * block(x)
        return out


class SuperNet(nn.Module):
    """The supernet of ``space`` at a (reduced) input size, for training on CPU."""

    def __init__(self, space: Space, layout: SearchLayout, input_size: tuple[int, int],
                 num_classes: int | None = None):
        super().__init__()
        self.space, self.layout = space, layout
        reference = NetSpec("ref", input_size, space.decode(layout.fixed).stages, space.in_channels)
        layers = iter(resolve(reference))
        self.parts = nn.ModuleList()
        self.kinds: list[str] = []          # "fixed" or "mixed" per part
        searched = set(layout.searched)
        for seg in space.segments:
            values = tuple(layout.fixed[d] for d in seg.own)
            blocks = seg.make(values)
            seg_layers = [next(layers) for b in blocks for _ in range(b.repeats)]
            if seg.own and seg.own[0] in searched and len(seg_layers) == 1:
                d = seg.own[0]
                in_shape = seg_layers[0].in_shape
                cands = []
                for i in range(len(space.decisions[d].options)):
                    (block,) = seg.make(tuple(i if dd == d else layout.fixed[dd] for dd in seg.own))
                    cands.append(REGISTRY.get(block.type).build(block.args, in_shape))
                self.parts.append(MixedLayer(cands))
                self.kinds.append("mixed")
            else:
                mods = [REGISTRY.get(l.block.type).build(l.block.args, l.in_shape) for l in seg_layers]
                self.parts.append(nn.Sequential(*mods))
                self.kinds.append("fixed")
        last = space.decode(layout.fixed).blocks[-1]
        if num_classes is not None and last.type == "fc" and last.args.out != num_classes:
            # Train a small dataset's classes: swap only the classifier's width.
            fc = self.parts[-1][-1]
            fc.fc = nn.Linear(fc.fc.in_features, num_classes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``weights``: (searched layers, options) mixture weights."""
        li = 0
        for kind, part in zip(self.kinds, self.parts):
            if kind == "mixed":
                x = part(x, weights[li, :len(part.candidates)])
                li += 1
            else:
                x = part(x)
        return x.flatten(1)


def expected_latency(const_ms: float, t: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Differentiable LAT = const + sum(m * t); equals the table price for one-hot ``weights``."""
    return const_ms + (weights * t).sum()
