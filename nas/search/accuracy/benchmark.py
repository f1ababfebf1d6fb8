"""``--accuracy benchmark``: a tabular benchmark's trained accuracy, looked up instead of estimated.

On a space that ships a benchmark (``benchmark:`` in its YAML; NAS-Bench-Macro
for ``nasbench_macro``) every network was trained from scratch, so a search can
be scored against real accuracy in microseconds per candidate. The value is the
benchmark's mean over its training seeds, or one seed's with ``seed``. A network
the benchmark does not hold is refused (``NasError``), never guessed: that
includes the same architecture at another input size, and any network the
space cannot express (the article's ImageNet models).
"""

from __future__ import annotations

import math

from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.search.accuracy.base import Estimate
from nas.spaces.benchmark import Benchmark, load_benchmark

KIND = "benchmark"


class BenchmarkEstimator:
    """Scores a space's networks with its benchmark's recorded accuracy (in the benchmark's unit, e.g. %)."""

    kind = KIND
    lookup = True     # microseconds per network: the trial log groups its fsyncs (nas.search.storage)

    def __init__(self, space, seed: int | None = None):
        self.space = space
        self.bench: Benchmark = load_benchmark(space)
        if seed is not None and not 0 <= seed < self.bench.seeds:
            raise NasError(f"--bench-seed {seed}: the benchmark of space {space.name!r} has training seeds "
                           f"0..{self.bench.seeds - 1}")
        self.seed = seed
        self.metric = self.bench.info.metric if seed is None else f"{self.bench.info.metric} (seed {seed} only)"
        self._acc = self.bench.mean_acc if seed is None else self.bench.seed_acc[:, seed]

    @classmethod
    def for_search(cls, space, seed: int | None = None) -> "BenchmarkEstimator":
        """The estimator for a search of ``space``: refuses a space without a benchmark, or whose benchmark
        lacks some of its networks (a search could propose one), before anything is written."""
        if space.benchmark is None:
            raise NasError(f"--accuracy benchmark: space {space.name!r} has no benchmark (a space YAML names one "
                           f"under 'benchmark:'; shipped with one: nasbench_macro)")
        est = cls(space, seed=seed)
        if len(est.bench) != space.size():
            raise NasError(f"--accuracy benchmark: the benchmark of space {space.name!r} holds {len(est.bench)} "
                           f"of its {space.size()} networks; a search could propose one it does not hold")
        return est

    def choices_of(self, net: NetSpec) -> tuple[int, ...]:
        """The benchmark's architecture for ``net``, or ``NasError`` if it holds none."""
        choices = self.space.encode(net) if tuple(net.input_size) == tuple(self.space.input_size) else None
        if choices is None:
            raise NasError(f"--accuracy benchmark: network {net.name!r} ({net.input_size[0]}x{net.input_size[1]}) "
                           f"is not a network of space {self.space.name!r}, so its benchmark does not hold it")
        return choices

    def estimate(self, net: NetSpec, choices: tuple[int, ...] | None) -> Estimate:
        if choices is None:
            choices = self.choices_of(net)
        row = self.bench.index(choices)
        if row is None:
            key = "".join(map(str, choices))
            raise NasError(f"--accuracy benchmark: architecture {key} of space {self.space.name!r} is not in "
                           f"its benchmark ({self.bench.info.file.name}, {len(self.bench)} architectures)")
        acc = float(self._acc[row])
        if not math.isfinite(acc):
            raise NasError(f"--accuracy benchmark: no recorded accuracy for {self.bench.keys[row]}")
        return Estimate(acc, KIND)

    def observe(self, choices: tuple[int, ...], accuracy: float, kind: str | None) -> None:
        pass

    def settings(self) -> dict:
        return {"kind": KIND, "file": self.bench.info.file.name, "metric": self.metric, "seed": self.seed,
                "architectures": len(self.bench), "citation": self.bench.info.citation}
