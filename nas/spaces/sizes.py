"""The input sizes at which every network of a space can be built, found before any training.

Training (``--accuracy train``, ``predictor``, ``--strategy dnas``) builds a
space's networks at a reduced square resolution. Too small a one lets a
stride-2 layer meet a 1x1 feature map; that used to surface only once training
had started (every candidate FAILED, or the supernet refused to build). These
helpers answer it in milliseconds with the architecture code's own shape rules:
the space's pricing structure (``Space.factors``, which resolves every segment
for every combination of the decisions it depends on, via ``nas.arch.resolve``)
rebuilt at the other input size. No shape arithmetic of its own.
"""

from __future__ import annotations

from nas.errors import SpecError
from nas.spaces.base import Space


def at_input_size(space: Space, size: tuple[int, int]) -> Space:
    """``space`` with another input size: the same decisions and segments (whose blocks do not depend on it)."""
    return Space(space.name, space.description, tuple(size), space.decisions, space.segments, space.in_channels)


def shape_error_at(space: Space, size: tuple[int, int]) -> SpecError | None:
    """None when every network of ``space`` resolves at a ``size`` input, else the first shape error."""
    try:
        at_input_size(space, size).factors
    except SpecError as e:
        return e
    return None


def smallest_square_side(space: Space, lo: int, hi: int) -> int | None:
    """The smallest side in ``lo..hi`` at which every network of ``space`` builds at side x side, or None.

    Bisection is exact while buildability is monotone in the side, as it is for the blocks' shape rules: a windowed
    layer's output side (``floor((in + 2p - k) / s) + 1``) or global pooling's 1 never shrinks when its input
    grows, and the refusals of ``nas.arch.resolve`` (a stride over the map, an empty output) that hold for a
    larger map hold for a smaller one.
    """
    if shape_error_at(space, (hi, hi)) is not None:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if shape_error_at(space, (mid, mid)) is None:
            hi = mid
        else:
            lo = mid + 1
    return lo
