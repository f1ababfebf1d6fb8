"""Constrained aging (regularized) evolution, as ChamNet uses it.

Real et al. 2019, "Regularized Evolution for Image Classifier Architecture
Search": a population of the most recent ``population_size`` results; a child
mutates the best of ``sample_size`` members drawn at random (tournament), and
the oldest member dies. Dai et al. 2019 (ChamNet) run it under a latency
constraint; here a candidate over the target comes back ``INFEASIBLE`` and
loses every tournament against a feasible one, infeasible ones compare by
latency (Deb's rule) -- no rejection loop, so an unreachable region cannot hang.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np

from nas.search.strategies.base import Choices, Result, Status, Strategy, rank_key
from nas.search.strategies.mutation import mutate


class AgingEvolution(Strategy):
    """Aging evolution with tournament selection and k-decision mutation.

    Args:
        cardinalities: options per decision.
        seed: Generator seed.
        population_size: members kept (the oldest dies); also the number of initial proposals.
        sample_size: tournament size.
        mutations: decisions changed per child.
        initial: decision vectors proposed first (e.g. zoo models the space expresses), then random.
    """

    name = "evolution"

    def __init__(self, *, cardinalities: Sequence[int], seed: int = 0, population_size: int = 32,
                 sample_size: int = 8, mutations: int = 1, initial: Sequence[Sequence[int]] = ()):
        super().__init__(cardinalities=cardinalities, seed=seed)
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must be in [1, population_size={population_size}], got {sample_size}")
        if mutations < 1:
            raise ValueError(f"mutations must be >= 1, got {mutations}")
        self.population_size, self.sample_size, self.mutations = population_size, sample_size, mutations
        self.initial = [tuple(int(v) for v in c) for c in initial]
        for c in self.initial:
            if len(c) != self.dims or any(not 0 <= v < n for v, n in zip(c, self.cardinalities)):
                raise ValueError(f"initial vector {c} is not a decision vector of this space")
        self.population: deque[Result] = deque()
        self.issued = 0

    def _ask(self, n: int) -> list[Choices]:
        out: list[Choices] = []
        for _ in range(n):
            if self.issued < len(self.initial):
                out.append(self.initial[self.issued])
            elif self.issued < self.population_size or not self.population:
                out.append(tuple(self.uniform(1)[0]))
            else:
                out.append(tuple(mutate(np.array(self._tournament().choices), self.cardinalities,
                                        self.mutations, self.rng)))
            self.issued += 1
        return out

    def _tournament(self) -> Result:
        members = list(self.population)
        idx = self.rng.choice(len(members), size=min(self.sample_size, len(members)), replace=False)
        return min((members[i] for i in sorted(idx)), key=rank_key)

    def _tell(self, results: list[Result]) -> None:
        for r in results:
            if r.status is Status.FAILED:
                continue
            self.population.append(r)
            while len(self.population) > self.population_size:
                self.population.popleft()
