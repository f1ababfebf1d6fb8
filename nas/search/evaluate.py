"""The evaluator: price a batch against the table, estimate accuracy of the feasible ones.

Joins a space (decode), a ``SpacePricer`` (vectorized latency) and an accuracy
estimator. A candidate over the target is ``INFEASIBLE`` and not estimated; an
estimator that raises makes it ``FAILED``. Results are cached by the
architecture's DSL string, so a re-proposed architecture costs nothing.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from nas.latency.pricing import SpacePricer
from nas.search.accuracy.base import Estimator
from nas.search.storage import Trial
from nas.search.strategies.base import Choices, Result, Status
from nas.spaces.base import Space


class Evaluator:
    """Price + estimate; ``evaluate`` returns stored-form trials."""

    def __init__(self, *, space: Space, pricer: SpacePricer, estimator: Estimator, target_ms: float):
        self.space, self.pricer, self.estimator, self.target_ms = space, pricer, estimator, target_ms
        self.cache: dict[str, tuple[Result, str | None]] = {}
        self.failures: list[str] = []

    def evaluate(self, batch: Sequence[Choices], *, first_index: int,
                 on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
        """Evaluate ``batch`` in order; ``on_trial`` sees each trial as soon as it is done."""
        if not batch:
            return []
        latencies = np.atleast_1d(self.pricer.price(np.array(batch, dtype=np.int64)))
        out = []
        for i, (choices, lat) in enumerate(zip(batch, latencies)):
            t0 = time.perf_counter()
            net = self.space.decode(choices)
            arch = str(net)
            if arch in self.cache:
                cached, kind = self.cache[arch]
                result = Result(tuple(choices), cached.status, dict(cached.metrics))
            else:
                result, kind = self._one(tuple(choices), net, float(lat))
            trial = Trial(first_index + i, result, arch, kind, time.perf_counter() - t0)
            self.replay(trial)
            if on_trial:
                on_trial(trial)
            out.append(trial)
        return out

    def _one(self, choices: Choices, net, latency: float) -> tuple[Result, str | None]:
        metrics = {"latency_ms": latency}
        if latency > self.target_ms:
            return Result(choices, Status.INFEASIBLE, metrics), None
        try:
            estimate = self.estimator.estimate(net, choices)
        except Exception as e:  # noqa: BLE001 -- one bad candidate must not end the search
            self.failures.append(f"{net}: {type(e).__name__}: {e}")
            return Result(choices, Status.FAILED, metrics), None
        if not np.isfinite(estimate.accuracy):
            return Result(choices, Status.FAILED, metrics), estimate.kind
        return Result(choices, Status.OK, metrics | {"accuracy": float(estimate.accuracy)}), estimate.kind

    def replay(self, trial: Trial) -> None:
        """Take in a finished trial (fresh or from the log): cache it, let the estimator learn from it."""
        self.cache.setdefault(trial.arch, (trial.result, trial.accuracy_kind))
        if trial.result.status is Status.OK:
            self.estimator.observe(trial.result.choices, trial.result.accuracy, trial.accuracy_kind)
