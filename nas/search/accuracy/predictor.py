"""ChamNet's accuracy predictor: a Gaussian process on the one-hot architecture encoding.

Dai et al. 2019, "ChamNet: Towards Efficient Network Design through
Platform-Aware Model Adaptation": fit a Gaussian-process regressor on the
architectures trained so far and use it to screen new ones. Here the first
``warmup`` feasible candidates are trained; after that a candidate is trained
only if its upper confidence bound (mean + ``kappa`` * std) reaches the best
trained accuracy, else its predicted mean is reported (``accuracy_kind``
``predictor``). The GP is a small numpy one (RBF kernel on one-hot vectors,
length scale chosen from a grid by marginal likelihood), so it is deterministic.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from nas.arch.spec import NetSpec
from nas.search.accuracy.base import Estimate, Estimator

LENGTH_SCALES = (1.0, 2.0, 4.0, 8.0)


def one_hot(choices: np.ndarray, cardinalities: np.ndarray) -> np.ndarray:
    """Concatenated one-hot encoding of decision vectors, shape (N, sum(cardinalities))."""
    c = np.atleast_2d(np.asarray(choices, dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum(cardinalities)[:-1]])
    out = np.zeros((c.shape[0], int(cardinalities.sum())))
    out[np.arange(c.shape[0])[:, None], c + offsets] = 1.0
    return out


class GaussianProcess:
    """Exact GP regression with an RBF kernel and standardized targets."""

    def __init__(self, *, noise: float = 1e-2):
        self.noise = noise

    def fit(self, x: np.ndarray, y: np.ndarray) -> "GaussianProcess":
        self.x, self.mu, self.sd = x, float(y.mean()), float(y.std()) or 1.0
        t = (y - self.mu) / self.sd
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        best = None
        for ls in LENGTH_SCALES:
            k = np.exp(-d2 / (2 * ls * ls)) + self.noise * np.eye(len(x))
            chol = np.linalg.cholesky(k)
            alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, t))
            nll = 0.5 * t @ alpha + np.log(np.diag(chol)).sum()
            if best is None or nll < best[0]:
                best = (nll, ls, chol, alpha)
        _, self.length_scale, self.chol, self.alpha = best
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2 = ((x[:, None, :] - self.x[None, :, :]) ** 2).sum(-1)
        ks = np.exp(-d2 / (2 * self.length_scale ** 2))
        mean = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.clip(1.0 - (v * v).sum(0), 1e-12, None)
        return self.mu + self.sd * mean, self.sd * np.sqrt(var)


class PredictorEstimator:
    """Screens candidates with a GP fitted on the ones ``base`` scored so far."""

    kind = "predictor"

    def __init__(self, *, base: Estimator, cardinalities: Sequence[int], warmup: int = 8, kappa: float = 1.0):
        if warmup < 2 or kappa < 0:
            raise ValueError(f"need warmup >= 2 and kappa >= 0, got {warmup}, {kappa}")
        self.base, self.warmup, self.kappa = base, warmup, kappa
        self.cardinalities = np.array(cardinalities, dtype=np.int64)
        self.xs: list[tuple[int, ...]] = []
        self.ys: list[float] = []
        self.gp: GaussianProcess | None = None

    def estimate(self, net: NetSpec, choices) -> Estimate:
        if choices is None or len(self.ys) < self.warmup:
            return self.base.estimate(net, choices)
        if self.gp is None:
            self.gp = GaussianProcess().fit(one_hot(np.array(self.xs), self.cardinalities), np.array(self.ys))
        mean, std = self.gp.predict(one_hot(np.array([choices]), self.cardinalities))
        if mean[0] + self.kappa * std[0] >= max(self.ys):
            return self.base.estimate(net, choices)
        return Estimate(float(mean[0]), self.kind)

    def observe(self, choices, accuracy, kind) -> None:
        if kind == self.base.kind and accuracy is not None and math.isfinite(accuracy):
            self.xs.append(tuple(choices))
            self.ys.append(float(accuracy))
            self.gp = None

    def settings(self) -> dict:
        return {"kind": self.kind, "base": self.base.settings(), "warmup": self.warmup, "kappa": self.kappa}
