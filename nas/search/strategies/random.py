"""Random search: every decision uniformly at random -- the baseline every NAS result must beat."""

from __future__ import annotations

import numpy as np

from nas.search.strategies.base import Strategy


class RandomSearch(Strategy):
    """Uniform sampling of the space; ``tell`` is ignored."""

    name = "random"

    def _ask(self, n: int) -> np.ndarray:
        return self.uniform(n)
