"""Where accuracy estimates run: in this process (``local``) or as Ray Tune trials (``ray``).

A backend takes the jobs of one batch (the feasible, not yet known candidates)
and reports each outcome -- an ``Estimate`` or the exception that ended it --
through ``on_result(k, outcome)`` in any order; the evaluator puts them back
in proposal order. The strategy, the trial log and resume do not know which
backend ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from nas.arch.spec import NetSpec
from nas.search.accuracy.base import Estimate

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Job:
    """One candidate to estimate."""

    choices: tuple[int, ...]
    net: NetSpec
    arch: str            # its DSL string: the cache key and what a remote worker rebuilds it from


OnResult = Callable[[int, "Estimate | BaseException"], None]


class LocalBackend:
    """Estimate one job after another in this process (the default; needs no Ray)."""

    name = "local"

    def run(self, jobs: Sequence[Job], estimator, on_result: OnResult) -> None:
        for k, job in enumerate(jobs):
            try:
                outcome = estimator.estimate(job.net, job.choices)
            except Exception as e:  # noqa: BLE001 -- one bad candidate must not end the search
                outcome = e
            on_result(k, outcome)

    def close(self) -> None:
        pass


__all__ = ["BACKENDS", "Job", "LocalBackend", "OnResult"]
