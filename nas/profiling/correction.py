"""A small correction from isolated op timings to in-network ones, fitted on calibration networks.

Why: an op timed alone runs with its weights warm in cache and, in ONNX
Runtime, pays its own layout conversions (NCHW <-> blocked NCHWc) at its
model's boundaries; inside a network its weights come cold from memory and the
activations stay blocked between ops. Isolated sums therefore miss by a
systematic, op-dependent amount (-8 to -15 % on fbnet networks here).

How: ``in-network ms = a * isolated ms + b * weight Melems + c * activation Melems
+ d * fallback + e * fallback * isolated ms`` (activations = input + output
elements; ``fallback`` is 1 for an op that Core ML's compute plan puts off the
unit most ops use -- a network pays a unit switch around it -- and 0 on a CPU or
when no plan is known, where d and e come out 0), least squares over the
end-to-end times of *calibration* networks (random architectures drawn with
their own seed, never the validation ones): ``T_net - overhead = sum over its
layers``. Five numbers, recorded in the table's provenance with the calibration
seed and fit error, applied to every entry (``apply_to_table``); the validation
networks' figures (``figures``) go next to them. The coefficients are constrained to be non-negative
(non-negative least squares), so no op's price turns negative and no term can
stand in for a per-network constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy.optimize import nnls

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.latency.table import Stat
from nas.ops.features import block_features

FEATURES = ("isolated_ms", "weight_melems", "act_melems", "fallback", "fallback_isolated_ms")
FORMULA = "a*isolated_ms + b*weight_melems + c*act_melems + d*fallback + e*fallback*isolated_ms"


@lru_cache(maxsize=None)
def _sizes(block, in_shape: tuple) -> tuple[float, float]:
    """(weight Melems, activation Melems) of a block: traced once (a network repeats its ops)."""
    f = block_features(block, in_shape)
    return f.weight_elems / 1e6, (f.in_elems + f.out_elems) / 1e6


def op_features(block, in_shape, isolated_ms: float, fallback: bool = False) -> np.ndarray:
    w, act = _sizes(block, tuple(in_shape))
    fb = 1.0 if fallback else 0.0
    return np.array([isolated_ms, w, act, fb, fb * isolated_ms])


@dataclass(frozen=True)
class Correction:
    coef: tuple[float, ...]
    calibration_seed: int
    measured_ms: tuple[float, ...]  # the calibration networks' end-to-end medians
    calibration_nets: int
    fit_mape_pct: float             # on the calibration networks
    uncorrected_mape_pct: float     # the isolated sums on the same networks

    fallback: tuple[str, ...] = ()  # the op keys counted as fallback (fitted and applied alike)

    def apply(self, block, in_shape, isolated_ms: float, key: str = "") -> float:
        x = op_features(block, in_shape, isolated_ms, key in self.fallback) if self.fallback else \
            op_features(block, in_shape, isolated_ms)
        return max(0.0, float(x @ np.asarray(self.coef)))

    def to_dict(self) -> dict:
        return {"formula": FORMULA if len(self.coef) == len(FEATURES) else "see coef",
                "coef": {k: round(v, 6) for k, v in zip("abcde", self.coef)},
                "fallback_ops": len(self.fallback),
                "calibration_seed": self.calibration_seed, "calibration_nets": self.calibration_nets,
                "fit_mape_pct": round(self.fit_mape_pct, 2),
                "uncorrected_mape_pct": round(self.uncorrected_mape_pct, 2),
                "calibration_measured_ms": [round(v, 4) for v in self.measured_ms]}


def net_features(net: NetSpec, isolated: dict[str, Stat], fallback: frozenset[str] = frozenset()) -> np.ndarray:
    if fallback:
        return sum(op_features(l.block, l.in_shape, isolated[l.key].median_ms, l.key in fallback)
                   for l in resolve(net))
    return sum(op_features(l.block, l.in_shape, isolated[l.key].median_ms) for l in resolve(net))


MIN_NETS = 6


def fit(nets: Sequence[NetSpec], measured_ms: Sequence[float], isolated: dict[str, Stat],
        overhead_ms: float, seed: int, fallback: frozenset[str] = frozenset()) -> Correction:
    """Non-negative least-squares fit of the coefficients on calibration networks."""
    if len(nets) < MIN_NETS:
        raise NasError(f"fitting the correction needs at least {MIN_NETS} calibration networks, got {len(nets)}")
    X = np.stack([net_features(n, isolated, fallback) for n in nets])
    y = np.asarray(measured_ms) - overhead_ms
    # Relative errors matter: weight each network by 1/T so small networks count as much as big ones.
    w = 1.0 / np.asarray(measured_ms)
    # Non-negative: a coefficient may not turn negative to act as an intercept (the head and the
    # classifier are in every network, so a free weight term could shift their price at will).
    coef, _ = nnls(X * w[:, None], y * w)
    pred = X @ coef + overhead_ms
    raw = X[:, 0] + overhead_ms
    t = np.asarray(measured_ms)
    return Correction(tuple(float(c) for c in coef), seed, tuple(float(v) for v in t), len(nets),
                      float(np.mean(np.abs(pred - t) / t) * 100), float(np.mean(np.abs(raw - t) / t) * 100),
                      tuple(sorted(fallback)))


def apply_to_table(corr: Correction, ops: dict[str, tuple], isolated: dict[str, Stat]) -> dict[str, Stat]:
    """Every entry's corrected time (``ops``: key -> (block, in_shape)); the spread scales along, and
    the isolated median is kept in ``isolated_ms``."""
    out = {}
    for key, iso in isolated.items():
        block, in_shape = ops[key]
        ms = corr.apply(block, in_shape, iso.median_ms, key)
        k = ms / iso.median_ms if iso.median_ms > 0 else 1.0
        sc = lambda v: None if v is None else v * k  # noqa: E731
        out[key] = Stat(ms, sc(iso.p10_ms), sc(iso.p90_ms), sc(iso.mad_ms), iso.n,
                        iso.extra | {"isolated_ms": round(iso.median_ms, 6)})
    return out


def figures(predicted: Sequence[float], measured: Sequence[float], names: Sequence[str] = ()) -> dict:
    """How well table sums predict measured end-to-end times: share within +-10 %, Spearman, MAPE,
    median bias and the worst network."""
    from scipy.stats import spearmanr
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    err = (p - m) / m
    worst = int(np.argmax(np.abs(err)))
    return {"networks": int(m.size), "within_10pct": round(float(np.mean(np.abs(err) <= 0.10)), 4),
            "spearman": round(float(spearmanr(p, m)[0]), 4) if m.size > 2 else None,
            "mape": round(float(np.mean(np.abs(err)) * 100), 3), "bias_pct": round(float(np.median(err) * 100), 3),
            "max_abs_error_pct": round(float(np.abs(err[worst]) * 100), 3),
            "worst": names[worst] if len(names) > worst else worst}
