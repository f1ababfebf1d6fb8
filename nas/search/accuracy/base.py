"""The accuracy-estimator interface: every estimate says which estimator produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from nas.arch.spec import NetSpec


@dataclass(frozen=True)
class Estimate:
    accuracy: float        # higher is better; the scale depends on ``kind``
    kind: str              # proxy | train | predictor | benchmark
    metrics: dict[str, float] = field(default_factory=dict)   # extra figures for the trial log (epochs, retries)


class Estimator(Protocol):
    """``estimate`` scores one network; ``observe`` sees every finished result (fresh or replayed)."""

    kind: str

    def estimate(self, net: NetSpec, choices: tuple[int, ...] | None) -> Estimate: ...

    def observe(self, choices: tuple[int, ...], accuracy: float, kind: str | None) -> None: ...

    def settings(self) -> dict: ...
