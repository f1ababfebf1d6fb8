"""Optuna's samplers as strategies: NSGA-II and multivariate TPE, with latency constraints.

The sampler runs over an in-memory optuna study that only this strategy sees:
``ask`` asks the study for trials over the space's categorical decisions, and
``tell`` tells them back in the order given. Latency targets become optuna
constraints (``Trial.set_constraint``, optuna >= 5; a value <= 0 is feasible,
as with the older ``constraints_func``): one per latency metric, named after it,
``latency - target``.
A candidate over a target is never estimated, so it has no accuracy; it is told
with the lowest feasible accuracy seen so far (0 before any) as a placeholder --
both samplers rank infeasible trials by their violation alone, so the
placeholder never decides anything. A failed evaluation is told as ``FAIL``.

Everything the samplers draw comes from their seed and the sequence of asks and
tells, so replaying a stored history into a fresh strategy (``nas.search.run``)
rebuilds the same study, and the search goes on exactly as if never stopped.

Objectives: ``accuracy`` (maximize; latency only as constraints) or, for
NSGA-II, ``pareto``: maximize accuracy and minimize the worst-case latency
ratio ``max(latency_i / target_i)`` over the targets; or ``pareto-all``:
maximize accuracy and minimize every latency, one objective each.
"""

from __future__ import annotations

import warnings
from collections import defaultdict, deque
from typing import Mapping, Sequence

from nas.search.strategies.base import Choices, Result, Status, Strategy

OBJECTIVES = ("accuracy", "pareto", "pareto-all")


def worst_ratio(metrics: Mapping[str, float], targets: Mapping[str, float]) -> float | None:
    """``max(latency / target)`` over the targets (None when a latency is missing)."""
    if any(k not in metrics for k in targets):
        return None
    return max(metrics[k] / t for k, t in targets.items())


class OptunaStrategy(Strategy):
    """Base of the optuna-backed strategies.

    Args:
        cardinalities: options per decision.
        seed: the sampler's seed.
        targets: latency metric name -> target in ms (``{"latency_ms": T}`` for one device).
        objective: ``accuracy``, ``pareto`` or ``pareto-all`` (see the module docstring).
        names: parameter name of each decision (default ``d0``, ``d1``, ...).
    """

    name = "optuna"
    pareto_ok = False

    def __init__(self, *, cardinalities: Sequence[int], seed: int = 0, targets: Mapping[str, float],
                 objective: str = "accuracy", names: Sequence[str] | None = None):
        super().__init__(cardinalities=cardinalities, seed=seed)
        import optuna

        if not targets or any(not t > 0 for t in targets.values()):
            raise ValueError(f"targets must map latency metrics to positive ms, got {dict(targets)!r}")
        if objective not in OBJECTIVES or (objective != "accuracy" and not self.pareto_ok):
            raise ValueError(f"strategy {self.name} supports objective "
                             f"{' or '.join(OBJECTIVES if self.pareto_ok else OBJECTIVES[:1])}, got {objective!r}")
        names = list(names) if names is not None else [f"d{i}" for i in range(self.dims)]
        if len(names) != self.dims or len(set(names)) != len(names):
            raise ValueError(f"need {self.dims} distinct parameter names, got {names}")
        self.targets, self.objective, self.names = dict(targets), objective, names
        self.distributions = {n: optuna.distributions.CategoricalDistribution(list(range(int(c))))
                              for n, c in zip(names, self.cardinalities)}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():          # multivariate TPE is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = self._sampler(optuna, seed)
        extra = {"accuracy": 0, "pareto": 1, "pareto-all": len(self.targets)}[objective]
        directions = ["maximize"] + ["minimize"] * extra
        self.study = optuna.create_study(directions=directions, sampler=sampler)
        self.pending: dict[Choices, deque] = defaultdict(deque)
        self.acc_floor: float | None = None
        self._optuna = optuna

    def _sampler(self, optuna, seed: int):
        raise NotImplementedError

    def _ask(self, n: int) -> list[Choices]:
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            for _ in range(n):
                trial = self.study.ask(self.distributions)
                choices = tuple(int(trial.params[k]) for k in self.names)
                self.pending[choices].append(trial)
                out.append(choices)
        return out

    def _tell(self, results: list[Result]) -> None:
        TrialState = self._optuna.trial.TrialState
        for r in results:
            queue = self.pending.get(tuple(r.choices))
            trial = queue.popleft() if queue else None     # None: a result this strategy did not propose
            lat = [r.metrics.get(k) for k in self.targets]
            if r.status is Status.FAILED or any(v is None for v in lat):
                if trial is not None:
                    self.study.tell(trial, state=TrialState.FAIL)
                continue
            constraints = {k: float(v - t) for v, (k, t) in zip(lat, self.targets.items())}
            if r.status is Status.OK:
                acc = float(r.accuracy)
                self.acc_floor = acc if self.acc_floor is None else min(self.acc_floor, acc)
            else:
                acc = self.acc_floor if self.acc_floor is not None else 0.0
            values = [acc] + ([worst_ratio(r.metrics, self.targets)] if self.objective == "pareto" else
                              [float(v) for v in lat] if self.objective == "pareto-all" else [])
            if trial is None:               # learn from it all the same, as a finished trial
                params = dict(zip(self.names, (int(v) for v in r.choices)))
                self.study.add_trial(self._optuna.trial.create_trial(
                    params=params, distributions=self.distributions, values=values,
                    constraints=constraints))
                continue
            for k, c in constraints.items():
                trial.set_constraint(k, c)
            self.study.tell(trial, values)


class NSGA2(OptunaStrategy):
    """Optuna's NSGA-II (Deb et al. 2002) with constrained domination.

    Args (beyond ``OptunaStrategy``): population_size: trials per generation.
    """

    name = "nsga2"
    pareto_ok = True

    def __init__(self, *, population_size: int = 24, **kw):
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        self.population_size = population_size
        super().__init__(**kw)

    def _sampler(self, optuna, seed):
        return optuna.samplers.NSGAIISampler(population_size=self.population_size, seed=seed)


class TPE(OptunaStrategy):
    """Optuna's TPE with ``multivariate=True`` (one joint density over the decisions) and constraints.

    Args (beyond ``OptunaStrategy``): n_startup_trials: random trials before TPE models anything.
    """

    name = "tpe"

    def __init__(self, *, n_startup_trials: int = 10, **kw):
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        self.n_startup_trials = n_startup_trials
        super().__init__(**kw)

    def _sampler(self, optuna, seed):
        return optuna.samplers.TPESampler(multivariate=True, n_startup_trials=self.n_startup_trials, seed=seed)
