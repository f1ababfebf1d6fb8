"""MnasNet-style reinforcement learning: a factorized categorical policy trained with REINFORCE.

Tan et al. 2019, "MnasNet: Platform-Aware Neural Architecture Search for
Mobile": the controller samples one option per decision; its reward is
``ACC * (LAT / T) ** w`` (``nas.search.strategies.reward``). MnasNet's
controller is an LSTM trained with PPO; here the policy is factorized -- one
independent softmax (numpy logits) per decision -- and trained with REINFORCE
(Williams 1992) with a moving-average baseline and an entropy bonus.

Candidates over the target are not trained (``INFEASIBLE`` carries latency
only): their reward uses the lowest accuracy seen among feasible ones so far,
times the latency term, so the policy still learns which way is faster.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nas.search.strategies.base import Result, Status, Strategy
from nas.search.strategies.reward import SOFT_W, mnas_reward


class Reinforce(Strategy):
    """REINFORCE over a factorized categorical policy.

    Args:
        cardinalities: options per decision.
        seed: Generator seed.
        target_ms: the latency target T of the reward.
        reward: ``soft`` (w = -0.07 on both sides) or ``hard`` (w = -1 above T, 0 below).
        w: the soft exponent.
        lr: step size on the logits.
        baseline_decay: the baseline's moving-average decay.
        entropy: weight of the entropy bonus.
    """

    name = "rl"

    def __init__(self, *, cardinalities: Sequence[int], seed: int = 0, target_ms: float,
                 reward: str = "soft", w: float = SOFT_W, lr: float = 0.5, baseline_decay: float = 0.9,
                 entropy: float = 0.01):
        super().__init__(cardinalities=cardinalities, seed=seed)
        if not target_ms > 0:
            raise ValueError(f"target_ms must be positive, got {target_ms}")
        if reward not in ("soft", "hard"):
            raise ValueError(f"reward must be 'soft' or 'hard', got {reward!r}")
        if not 0 <= baseline_decay < 1:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        if lr <= 0 or entropy < 0:
            raise ValueError(f"lr must be positive and entropy non-negative, got {lr}, {entropy}")
        self.target_ms, self.reward, self.w = float(target_ms), reward, float(w)
        self.lr, self.baseline_decay, self.entropy = lr, baseline_decay, entropy
        width = int(self.cardinalities.max())
        self.mask = np.arange(width)[None, :] < self.cardinalities[:, None]     # (D, width)
        self.logits = np.where(self.mask, 0.0, -np.inf)
        self.baseline: float | None = None
        self.spread: float | None = None
        self.acc_floor: float | None = None

    def probs(self) -> np.ndarray:
        """Policy probabilities, shape (D, max options); zero beyond a decision's options."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        e = np.where(self.mask, np.exp(z), 0.0)
        return e / e.sum(axis=1, keepdims=True)

    def _ask(self, n: int) -> np.ndarray:
        cdf = np.cumsum(self.probs(), axis=1)
        u = self.rng.random((n, self.dims, 1))
        picks = (u > cdf[None, :, :]).sum(axis=2)
        return np.minimum(picks, self.cardinalities - 1)

    def rewards(self, results: list[Result]) -> np.ndarray:
        out = []
        for r in results:
            if r.status is Status.OK:
                acc = r.accuracy
                self.acc_floor = acc if self.acc_floor is None else min(self.acc_floor, acc)
            else:
                acc = self.acc_floor if self.acc_floor is not None else 0.5
            out.append(mnas_reward(acc, r.latency_ms, self.target_ms, mode=self.reward, w=self.w))
        return np.array(out)

    def _tell(self, results: list[Result]) -> None:
        results = [r for r in results if r.status is not Status.FAILED and r.latency_ms is not None]
        if not results:
            return
        rewards = self.rewards(results)
        mean, std = float(rewards.mean()), float(rewards.std())
        if self.baseline is None:
            self.baseline, self.spread = mean, std
        # Advantages are scaled by a moving estimate of the rewards' spread, so one lr fits any score scale.
        scale = max(self.spread or 0.0, 1e-3)
        adv = (rewards - self.baseline) / scale
        p = self.probs()
        grad = np.zeros_like(p)
        rows = np.arange(self.dims)
        for a, r in zip(adv, results):
            g = -p * a
            g[rows, np.array(r.choices)] += a
            grad += g
        grad /= len(results)
        logp = np.log(np.where(self.mask & (p > 0), p, 1.0))   # p underflowed to 0 adds 0 (its limit), not NaN
        ent = -(p * logp).sum(axis=1, keepdims=True)
        grad += self.entropy * (-p * (logp + ent))        # d(entropy)/d(logits)
        self.logits = np.where(self.mask, self.logits + self.lr * grad, -np.inf)
        d = self.baseline_decay
        self.baseline = d * self.baseline + (1 - d) * mean
        self.spread = d * self.spread + (1 - d) * std
