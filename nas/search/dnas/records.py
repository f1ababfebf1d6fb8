"""Checks on a ``dnas_runs.jsonl`` record before a resumed sweep reuses it instead of training.

A finished run's line is trusted in place of hours of training, so a well-typed line with wrong
values (a NaN or negative latency, choices outside this search space, a latency that is not the
table's price of those choices, an accuracy outside [0, 1]) must be refused, not reused. Each refusal
is a ``ValueError`` naming the field; ``sweep.RunsLog`` adds the file and line.
"""

from __future__ import annotations

import math

import numpy as np

from nas.errors import SpecError
from nas.fsutil import is_finite_number
from nas.search.dnas.trainer import DnasCandidate, DnasResult

CANDIDATE_KEYS = {"choices", "latency_ms", "accuracy", "source"}
RESULT_KEYS = {"best", "candidates", "expected_latency_ms", "theta"}


class BadRecord(ValueError):
    def __init__(self, field: str, why: str):
        super().__init__(f"field {field}: {why}")


def _number(v, field: str, lo: float = 0.0, hi: float = math.inf) -> float:
    if not is_finite_number(v) or not lo <= v <= hi:
        raise BadRecord(field, f"{v!r:.60} is not a finite number in [{lo:g}, {hi:g}]")
    return float(v)


def _candidate(d, field: str, space, pricer) -> DnasCandidate:
    if not isinstance(d, dict) or set(d) != CANDIDATE_KEYS:
        raise BadRecord(field, f"expected a mapping with keys {sorted(CANDIDATE_KEYS)}")
    choices = d["choices"]
    if not isinstance(choices, list) or not all(type(c) is int for c in choices):
        raise BadRecord(f"{field}.choices", "expected a list of integers")
    try:
        space.check(choices)
    except SpecError as e:
        raise BadRecord(f"{field}.choices", f"not an architecture of this search space ({e})") from None
    ms = _number(d["latency_ms"], f"{field}.latency_ms", hi=1e6)
    priced = float(pricer.price(np.array(choices)))
    if not math.isclose(ms, priced, rel_tol=1e-6, abs_tol=1e-9):
        raise BadRecord(f"{field}.latency_ms", f"{ms:g} ms, but the table prices these choices at {priced:g} ms "
                                               f"(a run of another table or space)")
    if d["source"] not in ("argmax", "sample"):
        raise BadRecord(f"{field}.source", f"{d['source']!r:.60} is not argmax or sample")
    return DnasCandidate(choices, ms, _number(d["accuracy"], f"{field}.accuracy", hi=1.0), d["source"])


def result_from_record(d, space, pricer) -> DnasResult:
    """The ``result`` of a ``dnas_runs.jsonl`` line, checked against this search's space and table."""
    if not isinstance(d, dict) or set(d) != RESULT_KEYS:
        raise BadRecord("result", f"expected a mapping with keys {sorted(RESULT_KEYS)}")
    cands = d["candidates"]
    if not isinstance(cands, list) or not 1 <= len(cands) <= 10_000:
        raise BadRecord("result.candidates", "expected a list of 1..10000 candidates")
    best = _candidate(d["best"], "result.best", space, pricer)
    cands = [_candidate(c, f"result.candidates.{i}", space, pricer) for i, c in enumerate(cands)]
    if best not in cands:
        raise BadRecord("result.best", "is not one of the candidates")
    hist = d["expected_latency_ms"]
    if not isinstance(hist, list) or len(hist) > 100_000:
        raise BadRecord("result.expected_latency_ms", "expected a list of numbers")
    hist = [_number(v, f"result.expected_latency_ms.{i}", hi=1e6) for i, v in enumerate(hist)]
    theta = d["theta"]
    if not isinstance(theta, list) or len(theta) > len(space.decisions) or \
            not all(isinstance(row, list) and len(row) <= 10_000 for row in theta):
        raise BadRecord("result.theta", "expected one list of probabilities per searched decision")
    theta = [[_number(p, f"result.theta.{i}", hi=1.0) for p in row] for i, row in enumerate(theta)]
    return DnasResult(best, cands, hist, theta)
