"""Search strategies behind one ask/tell interface (``base``), by name."""

from nas.search.strategies.base import Choices, Result, Status, Strategy, rank_key
from nas.search.strategies.evolution import AgingEvolution
from nas.search.strategies.random import RandomSearch
from nas.search.strategies.rl import Reinforce

STRATEGIES = {"evolution": AgingEvolution, "rl": Reinforce, "random": RandomSearch}

__all__ = ["Choices", "Result", "Status", "Strategy", "rank_key", "AgingEvolution", "RandomSearch",
           "Reinforce", "STRATEGIES", "make_strategy"]


def make_strategy(name: str, *, cardinalities, seed: int, target_ms: float,
                  initial=()) -> Strategy:
    """A strategy by name with the search's common settings."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    cls = STRATEGIES[name]
    kwargs = {"cardinalities": cardinalities, "seed": seed}
    if cls is Reinforce:
        kwargs["target_ms"] = target_ms
    if cls is AgingEvolution:
        kwargs["initial"] = initial
    return cls(**kwargs)
