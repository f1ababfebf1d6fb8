"""Pricing networks against a latency table: one network, or a batch of a space at once.

``price_net`` walks a network's resolved layers: ``overhead + sum(entries)``.
``SpacePricer`` turns a space's factors into arrays once; pricing a batch of
decision vectors is then one gather per factor and a sum -- array arithmetic,
no Python loop over ops or architectures.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.latency.table import LatencyTable, MissingEntry
from nas.spaces.base import Space


@dataclass(frozen=True)
class LayerPrice:
    position: str
    stage: int
    key: str
    ms: float
    unit_used: str | None = None


@dataclass(frozen=True)
class Price:
    total_ms: float
    overhead_ms: float
    layers: tuple[LayerPrice, ...]
    source: str          # measured | predicted
    table: str           # path or name of the table

    def to_json(self) -> dict:
        return {"total_ms": round(self.total_ms, 6), "overhead_ms": round(self.overhead_ms, 6),
                "layers": [{"key": l.key, "ms": round(l.ms, 6), "position": l.position}
                           | ({"unit_used": l.unit_used} if l.unit_used else {}) for l in self.layers],
                "source": self.source, "table": self.table}


def missing_keys(net: NetSpec, table: LatencyTable) -> list[str]:
    return sorted({l.key for l in resolve(net) if l.key not in table})


def price_net(net: NetSpec, table: LatencyTable) -> Price:
    """Price one network; a missing op raises ``MissingEntry`` naming the key and how to profile it."""
    layers = []
    for l in resolve(net):
        e = table.entries.get(l.key)
        if e is None:
            raise MissingEntry(l.key, table)
        layers.append(LayerPrice(l.position, l.stage, l.key, e.median_ms, e.extra.get("unit_used")))
    total = table.overhead.median_ms + sum(l.ms for l in layers)
    return Price(total, table.overhead.median_ms, tuple(layers), table.method, table.source_name)


class SpacePricer:
    """Vectorized pricing of a space's decision vectors against one table."""

    def __init__(self, space: Space, table: LatencyTable):
        self.space, self.table = space, table
        self.tables: list[np.ndarray] = []
        self.deps: list[tuple[int, ...]] = []
        self.shapes: list[tuple[int, ...]] = []
        missing: set[str] = set()
        for f in space.factors:
            costs = np.empty(len(f.layers))
            for i, layers in enumerate(f.layers):
                total = 0.0
                for l in layers:
                    e = table.entries.get(l.key)
                    if e is None:
                        missing.add(l.key)
                        continue
                    total += e.median_ms
                costs[i] = total
            self.tables.append(costs)
            self.deps.append(f.deps)
            self.shapes.append(f.shape)
        if missing:
            first = sorted(missing)[0]
            err = MissingEntry(first, table)
            err.args = (f"{err.args[0]} ({len(missing)} op keys of space {space.name!r} are missing)",)
            raise err
        self.overhead_ms = table.overhead.median_ms
        # Factors with no decisions are constants: fold them into one number.
        self.constant_ms = self.overhead_ms + sum(float(t[0]) for t, d in zip(self.tables, self.deps) if not d)
        self._active = [(t, d, s) for t, d, s in zip(self.tables, self.deps, self.shapes) if d]
        # Factors that each depend on one decision (FBNet's): one flat table, one gather, one row sum.
        per = self.per_decision_ms()
        self._flat = self._offsets = None
        if per is not None:
            sizes = [len(p) for p in per]
            self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
            self._flat = np.concatenate(per)

    def price(self, choices: np.ndarray) -> np.ndarray:
        """Latency (ms) of each row of ``choices`` (shape (B, D) or (D,))."""
        c = np.asarray(choices)
        single = c.ndim == 1
        c = np.atleast_2d(c)
        if self._flat is not None:
            total = self._flat.take(c + self._offsets).sum(axis=1)
            total += self.constant_ms
            return total[0] if single else total
        total = np.full(c.shape[0], self.constant_ms)
        for t, deps, shape in self._active:
            if len(deps) == 1:
                total += t[c[:, deps[0]]]
            else:
                total += t[np.ravel_multi_index(tuple(c[:, d] for d in deps), shape)]
        return total[0] if single else total

    def per_decision_ms(self) -> list[np.ndarray] | None:
        """For spaces whose factors each depend on one decision (FBNet's): the cost of every option
        of every decision, shape [D][options]. None when factors share decisions."""
        per = [np.zeros(len(d.options)) for d in self.space.decisions]
        for t, deps, _ in self._active:
            if len(deps) != 1:
                return None
            per[deps[0]] += t
        return per

    def fastest_ms(self) -> float:
        """Latency of the fastest architecture (exact when factors are independent, else a lower bound)."""
        per = self.per_decision_ms()
        if per is not None:
            return self.constant_ms + float(sum(p.min() for p in per))
        return self.constant_ms + float(sum(t.min() for t, _, _ in self._active))

    def slowest_ms(self) -> float:
        """Latency of the slowest architecture (exact when factors are independent, else an upper bound)."""
        per = self.per_decision_ms()
        if per is not None:
            return self.constant_ms + float(sum(p.max() for p in per))
        return self.constant_ms + float(sum(t.max() for t, _, _ in self._active))

    def median_ms(self, sample: int = 10_000, seed: int = 0) -> float:
        """The space's median latency: exact for a space of at most ``sample`` networks, else that of
        ``sample`` networks drawn with ``seed``."""
        if self.space.size() <= sample:
            choices = np.array(list(itertools.product(*(range(int(c)) for c in self.space.cardinalities))))
        else:
            choices = self.space.sample(np.random.default_rng(seed), sample)
        return float(np.median(self.price(choices)))
