"""A small correction from isolated op timings to in-network ones, fitted on calibration networks.

Why: an op timed alone runs with its weights warm in cache and, in ONNX
Runtime, pays its own layout conversions (NCHW <-> blocked NCHWc) at its
model's boundaries; inside a network its weights come cold from memory and the
activations stay blocked between ops. Isolated sums therefore miss by a
systematic, op-dependent amount (-8 to -15 % on fbnet networks here).

How: ``in-network ms = a * isolated ms + b * weight Melems + c * activation Melems``
(activations = input + output elements), least squares over the end-to-end
times of *calibration* networks (random architectures drawn with their own
seed, never the validation ones): ``T_net - overhead = sum over its layers``.
Three numbers, recorded in the table's provenance with the calibration seed and
fit error, applied to every entry. The coefficients are constrained to be non-negative
(non-negative least squares), so no op's price turns negative and no term can
stand in for a per-network constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import nnls

from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.latency.table import Stat
from nas.ops.features import block_features

FEATURES = ("isolated_ms", "weight_melems", "act_melems")


def op_features(block, in_shape, isolated_ms: float) -> np.ndarray:
    f = block_features(block, tuple(in_shape))
    return np.array([isolated_ms, f.weight_elems / 1e6, (f.in_elems + f.out_elems) / 1e6])


@dataclass(frozen=True)
class Correction:
    coef: tuple[float, ...]
    calibration_seed: int
    measured_ms: tuple[float, ...]  # the calibration networks' end-to-end medians
    calibration_nets: int
    fit_mape_pct: float             # on the calibration networks
    uncorrected_mape_pct: float     # the isolated sums on the same networks

    def apply(self, block, in_shape, isolated_ms: float) -> float:
        return max(0.0, float(op_features(block, in_shape, isolated_ms) @ np.asarray(self.coef)))

    def to_dict(self) -> dict:
        return {"formula": "a*isolated_ms + b*weight_melems + c*act_melems",
                "coef": {k: round(v, 6) for k, v in zip("abc", self.coef)},
                "calibration_seed": self.calibration_seed, "calibration_nets": self.calibration_nets,
                "fit_mape_pct": round(self.fit_mape_pct, 2),
                "uncorrected_mape_pct": round(self.uncorrected_mape_pct, 2),
                "calibration_measured_ms": [round(v, 4) for v in self.measured_ms]}


def net_features(net: NetSpec, isolated: dict[str, Stat]) -> np.ndarray:
    return sum(op_features(l.block, l.in_shape, isolated[l.key].median_ms) for l in resolve(net))


def fit(nets: Sequence[NetSpec], measured_ms: Sequence[float], isolated: dict[str, Stat],
        overhead_ms: float, seed: int) -> Correction:
    """Least-squares fit of the three coefficients on calibration networks."""
    if len(nets) < 2 * len(FEATURES):
        raise NasError(f"fitting the correction needs at least {2 * len(FEATURES)} calibration networks, "
                       f"got {len(nets)}")
    X = np.stack([net_features(n, isolated) for n in nets])
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
                      float(np.mean(np.abs(pred - t) / t) * 100), float(np.mean(np.abs(raw - t) / t) * 100))
