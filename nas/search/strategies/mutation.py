"""Mutation: change ``k`` distinct decisions of a parent to a different option each."""

from __future__ import annotations

import numpy as np


def mutate(parent: np.ndarray, cardinalities: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``parent`` with ``k`` decisions (those with >1 option) moved to another option."""
    child = np.array(parent, dtype=np.int64)
    movable = np.flatnonzero(cardinalities > 1)
    if movable.size == 0:
        return child
    for d in rng.choice(movable, size=min(k, movable.size), replace=False):
        child[d] = (child[d] + rng.integers(1, cardinalities[d])) % cardinalities[d]
    return child
