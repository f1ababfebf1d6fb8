"""The local measurement protocol: round-robin timed calls, spread over passes, robust statistics.

Consecutive timed calls are of *different* models, in a freshly shuffled order
each round: no model finds its own weights and inputs left in cache by its
previous call -- as in a network, where every other layer runs between two runs
of a layer -- and slow phases of a shared machine fall on every model alike.
``passes`` split the rounds into chunks that are recorded as they finish (the
unit of resuming). Rounds continue until each model has ``min_runs`` samples
and the pass has lasted ``min_time_s`` / passes, never beyond ``max_runs``.
The statistic is the median; p10/p90 and the raw MAD (no 1.4826 factor, as in
``ios_profiler``) describe the spread.

Clock: ``thread`` (default) is the calling thread's CPU time
(``CLOCK_THREAD_CPUTIME_ID``). With one intra-op thread the runtime computes on
the calling thread, so on an idle machine it equals wall time; on a shared
machine it leaves out the time the thread waited for a core. ``wall`` is
``perf_counter``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from nas.errors import NasError
from nas.latency.provcheck import CLOCK_NAMES
from nas.latency.table import Stat

CLOCKS = {"thread": time.thread_time_ns, "wall": time.perf_counter_ns}
assert tuple(CLOCKS) == CLOCK_NAMES, "nas.latency.provcheck.CLOCK_NAMES lists the clocks a table can name"


@dataclass(frozen=True)
class Protocol:
    warmup_runs: int = 3
    min_runs: int = 100
    min_time_s: float = 30.0
    max_runs: int = 1000
    passes: int = 5
    clock: str = "thread"
    seed: int = 0

    def __post_init__(self):
        if self.clock not in CLOCKS:
            raise NasError(f"clock must be one of {', '.join(CLOCKS)}, got {self.clock!r}")
        if min(self.min_runs, self.max_runs, self.passes) < 1 or self.max_runs < self.min_runs:
            raise NasError("need 1 <= min_runs <= max_runs and passes >= 1")
        if self.warmup_runs < 0 or self.min_time_s < 0:
            raise NasError("warmup_runs and min_time_s must not be negative")

    def to_dict(self) -> dict:
        return asdict(self) | {"order": "round-robin over all models, reshuffled every round",
                               "statistic": "median", "spread": "p10/p90, MAD"}


def summarize(samples_ms: Sequence[float]) -> Stat:
    x = np.asarray(samples_ms, dtype=float)
    med = float(np.median(x))
    return Stat(med, float(np.percentile(x, 10)), float(np.percentile(x, 90)),
                float(np.median(np.abs(x - med))), n=int(x.size))


def warm_up(calls: Sequence[Callable[[], object]], protocol: Protocol) -> None:
    for _ in range(protocol.warmup_runs):
        for call in calls:
            call()


def one_pass(calls: Sequence[Callable[[], object]], protocol: Protocol, index: int) -> list[list[float]]:
    """One pass of round-robin rounds; samples in ms per callable."""
    clock = CLOCKS[protocol.clock]
    rng = np.random.default_rng([protocol.seed, index])
    runs = -(-protocol.min_runs // protocol.passes)
    cap = max(runs, protocol.max_runs // protocol.passes)
    min_s = protocol.min_time_s / protocol.passes
    samples: list[list[float]] = [[] for _ in calls]
    start, rounds = time.perf_counter(), 0
    while rounds < cap and (rounds < runs or time.perf_counter() - start < min_s):
        for i in rng.permutation(len(calls)):
            t0 = clock()
            calls[i]()
            samples[i].append((clock() - t0) / 1e6)
        rounds += 1
    return samples


def measure(calls: Sequence[Callable[[], object]], protocol: Protocol) -> list[np.ndarray]:
    """Warm up, then every pass; samples in ms per callable."""
    warm_up(calls, protocol)
    out: list[list[float]] = [[] for _ in calls]
    for p in range(protocol.passes):
        for acc, s in zip(out, one_pass(calls, protocol, p)):
            acc.extend(s)
    return [np.asarray(s) for s in out]
