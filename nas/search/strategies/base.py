"""The strategy interface: ask for decision vectors, tell their results (as optuna's ask/tell).

A strategy sees only decision vectors (one option index per decision of a
space) and the metrics told back; it never prices, builds or trains anything,
so an on-device measurement loop can drive it as well as the table pricer.
Each strategy is reproducible from its seed; its state is rebuilt for a resumed
search by asking and telling the stored history again (``nas.search.run``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

Choices = tuple[int, ...]


class Status(str, enum.Enum):
    """How a candidate's evaluation ended."""

    OK = "OK"                    # within the latency target; metrics has accuracy and latency_ms
    INFEASIBLE = "INFEASIBLE"    # over the target; metrics has latency_ms only
    FAILED = "FAILED"            # the evaluation raised; metrics may be empty


@dataclass(frozen=True)
class Result:
    """The outcome of one candidate, as told to a strategy."""

    choices: Choices
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("accuracy")

    @property
    def latency_ms(self) -> float | None:
        return self.metrics.get("latency_ms")


class Strategy:
    """Base class: keyword-only construction, a seeded numpy Generator, range checks.

    Args:
        cardinalities: number of options of each decision.
        seed: seed of the strategy's numpy Generator.
    """

    name = "base"

    def __init__(self, *, cardinalities: Sequence[int], seed: int = 0):
        card = tuple(int(c) for c in cardinalities)
        if not card or min(card) < 1:
            raise ValueError(f"cardinalities must be a non-empty list of positive integers, got {card}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.cardinalities = np.array(card, dtype=np.int64)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    @property
    def dims(self) -> int:
        return len(self.cardinalities)

    def ask(self, n: int) -> list[Choices]:
        """Propose ``n`` decision vectors."""
        if n < 1:
            raise ValueError(f"ask(n) needs n >= 1, got {n}")
        return [tuple(int(v) for v in c) for c in self._ask(n)]

    def tell(self, results: Sequence[Result]) -> None:
        """Report the outcomes of proposals (in any order, any subset)."""
        for r in results:
            if len(r.choices) != self.dims:
                raise ValueError(f"result has {len(r.choices)} decisions, the strategy {self.dims}")
        self._tell(list(results))

    def uniform(self, n: int) -> np.ndarray:
        """``n`` decision vectors drawn uniformly at random, shape (n, D)."""
        return (self.rng.random((n, self.dims)) * self.cardinalities).astype(np.int64)

    def _ask(self, n: int) -> np.ndarray | list[Choices]:
        raise NotImplementedError

    def _tell(self, results: list[Result]) -> None:
        pass


def rank_key(r: Result) -> tuple:
    """Sort key, best first: feasible by accuracy, then infeasible by latency (Deb's constraint rule)."""
    if r.status is Status.OK:
        return (0, -(r.accuracy or 0.0), r.latency_ms or 0.0)
    if r.status is Status.INFEASIBLE:       # several targets (nas.search.multi): by the worst-case ratio
        v = r.metrics.get("latency_ratio", r.latency_ms)
        return (1, v if v is not None else float("inf"), 0.0)
    return (2, 0.0, 0.0)
