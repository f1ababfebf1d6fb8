"""Search strategies behind one ask/tell interface (``base``), by name."""

from nas.search.strategies.base import Choices, Result, Status, Strategy, rank_key
from nas.search.strategies.evolution import AgingEvolution
from nas.search.strategies.optuna_samplers import NSGA2, TPE, OptunaStrategy
from nas.search.strategies.random import RandomSearch
from nas.search.strategies.rl import Reinforce

STRATEGIES = {"evolution": AgingEvolution, "rl": Reinforce, "random": RandomSearch, "nsga2": NSGA2, "tpe": TPE}

__all__ = ["Choices", "Result", "Status", "Strategy", "rank_key", "AgingEvolution", "RandomSearch",
           "Reinforce", "NSGA2", "TPE", "STRATEGIES", "make_strategy"]


def make_strategy(name: str, *, cardinalities, seed: int, target_ms: float, initial=(), targets=None,
                  objective: str = "accuracy", names=None) -> Strategy:
    """A strategy by name with the search's common settings.

    ``targets`` (latency metric -> ms) defaults to ``{"latency_ms": target_ms}``; several entries are
    several devices' constraints. ``objective`` ``pareto``/``pareto-all`` needs NSGA-II.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    cls = STRATEGIES[name]
    kwargs = {"cardinalities": cardinalities, "seed": seed}
    if issubclass(cls, OptunaStrategy):
        return cls(**kwargs, targets=targets or {"latency_ms": target_ms}, objective=objective, names=names)
    if objective != "accuracy":
        raise ValueError(f"objective {objective!r} needs --strategy nsga2, not {name}")
    if cls is Reinforce:
        kwargs["target_ms"] = target_ms
    if cls is AgingEvolution:
        kwargs["initial"] = initial
    return cls(**kwargs)
