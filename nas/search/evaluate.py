"""The evaluator: price a batch against the table, estimate accuracy of the feasible ones.

Joins a space (decode), a ``SpacePricer`` (vectorized latency), an accuracy
estimator and a backend that runs the estimates (``nas.search.backends``: in
this process, or as Ray Tune trials). A candidate over the target is
``INFEASIBLE`` and not estimated; an estimate that raises makes it ``FAILED``.
Results are cached by the architecture's DSL string, so a re-proposed
architecture costs nothing. Trials are handed on in proposal order whatever
order a backend finishes them in, so the log and the strategy see the same
sequence from every backend.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from nas.latency.pricing import SpacePricer
from nas.search.accuracy.base import Estimate, Estimator
from nas.search.backends import Job, LocalBackend
from nas.search.storage import Trial
from nas.search.strategies.base import Choices, Result, Status
from nas.spaces.base import Space


class Evaluator:
    """Price + estimate; ``evaluate`` returns stored-form trials."""

    def __init__(self, *, space: Space, pricer: SpacePricer, estimator: Estimator, target_ms: float,
                 backend=None):
        self.space, self.pricer, self.estimator, self.target_ms = space, pricer, estimator, target_ms
        self.backend = backend or LocalBackend()
        self.cache: dict[str, tuple[Result, str | None]] = {}
        self.failures: list[str] = []

    def evaluate(self, batch: Sequence[Choices], *, first_index: int,
                 on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
        """Evaluate ``batch``; ``on_trial`` sees each trial, in order, as soon as it and all before it are done."""
        if not batch:
            return []
        priced = self._price(np.array(batch, dtype=np.int64))
        last = [time.perf_counter()]          # wall_s of a trial: the time since the previous one was handed on
        ready: list[tuple[Result, str | None] | None] = []
        job_at: list[int | None] = []          # position -> index into jobs (None: known without estimating)
        jobs: list[Job] = []
        by_arch: dict[str, int] = {}
        archs = []
        for choices, (metrics, over) in zip(batch, priced):
            choices = tuple(int(v) for v in choices)
            net = self.space.decode(choices)
            arch = str(net)
            archs.append(arch)
            if arch in self.cache:
                cached, kind = self.cache[arch]
                ready.append((Result(choices, cached.status, dict(cached.metrics)), kind))
                job_at.append(None)
            elif over:
                ready.append((Result(choices, Status.INFEASIBLE, metrics), None))
                job_at.append(None)
            else:
                if arch not in by_arch:        # the same network twice in a batch is estimated once
                    by_arch[arch] = len(jobs)
                    jobs.append(Job(choices, net, arch))
                ready.append(None)
                job_at.append(by_arch[arch])
        done: dict[int, Estimate | BaseException] = {}
        out: list[Trial] = []

        def flush() -> None:
            while len(out) < len(batch):
                i = len(out)
                if ready[i] is None:
                    if job_at[i] not in done:
                        return
                    ready[i] = self._result(batch[i], priced[i][0], jobs[job_at[i]], done[job_at[i]])
                result, kind = ready[i]
                now = time.perf_counter()
                trial = Trial(first_index + i, result, archs[i], kind, now - last[0])
                last[0] = now
                self.replay(trial)
                if on_trial:
                    on_trial(trial)
                out.append(trial)

        def finished(k: int, outcome: Estimate | BaseException) -> None:
            done[k] = outcome
            flush()

        flush()
        if jobs:
            self.backend.run(jobs, self.estimator, finished)
        flush()
        if len(out) != len(batch):
            raise RuntimeError(f"backend {type(self.backend).__name__} returned {len(done)} of {len(jobs)} estimates")
        return out

    def _price(self, batch: np.ndarray) -> list[tuple[dict, bool]]:
        """Each candidate's latency metrics and whether it is over the target (over any, with several pairs)."""
        if hasattr(self.pricer, "price_metrics"):          # several (device, unit) pairs: nas.search.multi
            return self.pricer.price_metrics(batch)
        lat = np.atleast_1d(self.pricer.price(batch))
        return [({"latency_ms": float(v)}, bool(v > self.target_ms)) for v in lat]

    def _result(self, choices, metrics: dict, job: Job, outcome) -> tuple[Result, str | None]:
        choices = tuple(int(v) for v in choices)
        metrics = dict(metrics)
        if isinstance(outcome, BaseException):
            self.failures.append(f"{job.arch}: {type(outcome).__name__}: {outcome}")
            return Result(choices, Status.FAILED, metrics), None
        if not np.isfinite(outcome.accuracy):
            return Result(choices, Status.FAILED, metrics), outcome.kind
        return Result(choices, Status.OK, metrics | dict(outcome.metrics) | {"accuracy": float(outcome.accuracy)}), \
            outcome.kind

    def replay(self, trial: Trial) -> None:
        """Take in a finished trial (fresh or from the log): cache it, let the estimator learn from it."""
        self.cache.setdefault(trial.arch, (trial.result, trial.accuracy_kind))
        if trial.result.status is Status.OK:
            self.estimator.observe(trial.result.choices, trial.result.accuracy, trial.accuracy_kind)
