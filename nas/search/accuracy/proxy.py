"""Training-free accuracy proxies at initialization, and their standardized ensemble.

Three scores, each computed on a network built at a reduced input resolution
from fixed seeds (weights, inputs, labels), so the same architecture always
gets the same score:

* ``naswot`` -- Mellor et al. 2021, "Neural Architecture Search without
  Training": log-determinant of the kernel of binary ReLU activation codes of a
  minibatch; networks whose units separate the inputs score higher.
* ``synflow`` -- Tanaka et al. 2020 (used as a NAS proxy by Abdelfattah et al.
  2021, "Zero-Cost Proxies for Lightweight NAS"): sum of |theta * dR/dtheta| with
  all-ones input and |theta| weights, in float64, reported as its log.
* ``grad_norm`` -- Abdelfattah et al. 2021: log of the norm of the gradient of
  the cross-entropy on random labels.

Each raw score is standardized against a fixed reference sample of the search
space (the ``reference`` nets of ``ProxyEstimator``); the accuracy score is
``Phi(mean z / 3)``, in (0, 1): 0.5 is a typical network of the space, and the
division by 3 keeps networks far from that typical size (the zoo's largest)
from saturating the scale. A monotone ensemble that needs no population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from nas.arch.build import build
from nas.arch.spec import NetSpec
from nas.search.accuracy.base import Estimate

PROXIES = ("naswot", "synflow", "grad_norm")
Z_SCALE = 3.0
_ACTS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.LeakyReLU, nn.PReLU)


def at_resolution(net: NetSpec, size: int) -> NetSpec:
    """The same architecture at a ``size``x``size`` input (the scores' reduced resolution)."""
    return replace(net, input_size=(size, size))


def _inputs(net: NetSpec, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, net.in_channels, *net.input_size, generator=g)
    return x, g


def naswot(model: nn.Module, x: torch.Tensor) -> float:
    """The kernel is accumulated layer by layer in float32 (its entries are counts of agreeing units, exact
    while one layer has under 2**24 units) rather than from one concatenated float64 code matrix."""
    n = x.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)
    seen = [0]

    def hook(_m, _i, out):
        c = (out.detach() > 0).flatten(1).float()
        k.add_((c @ c.t() + (1 - c) @ (1 - c).t()).double())
        seen[0] += 1

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _ACTS)]
    try:
        with torch.no_grad():
            model.train()(x)
    finally:
        for h in hooks:
            h.remove()
    if not seen[0]:
        return 0.0
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if sign > 0 else float(torch.log(torch.linalg.eigvalsh(k).clamp_min(1e-12)).sum())


def synflow(model: nn.Module, x: torch.Tensor) -> float:
    """float32 first (fast); float64 only if the product of |weights| overflows."""
    signs = {}
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point():
                signs[name] = torch.sign(p)
                p.abs_()
    try:
        total = _synflow_sum(model.eval(), torch.ones_like(x[:1]))
        if not math.isfinite(total):
            total = _synflow_sum(model.double(), torch.ones_like(x[:1], dtype=torch.float64))
            model.float()
    finally:
        with torch.no_grad():
            for name, p in model.state_dict().items():
                if name in signs:
                    p.mul_(signs[name])
    return math.log(total + 1e-30)


def _synflow_sum(model: nn.Module, ones: torch.Tensor) -> float:
    model.zero_grad()
    model(ones).sum().backward()
    return sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)


def grad_norm(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    model.train().zero_grad()
    out = model(x).flatten(1)
    nn.functional.cross_entropy(out, labels % out.shape[1]).backward()
    sq = sum(float(p.grad.pow(2).sum()) for p in model.parameters() if p.grad is not None)
    return 0.5 * math.log(sq + 1e-30)


def raw_scores(net: NetSpec, *, resolution: int = 64, batch: int = 16, seed: int = 0) -> dict[str, float]:
    """The three raw proxies of ``net`` at ``resolution``, from fixed seeds."""
    small = at_resolution(net, resolution)
    torch.manual_seed(seed)
    model = build(small)
    x, g = _inputs(small, batch, seed + 1)
    labels = torch.randint(0, 1000, (batch,), generator=g)
    scores = {"synflow": synflow(model, x)}  # first: at the initial BatchNorm statistics
    scores["naswot"] = naswot(model, x)
    scores["grad_norm"] = grad_norm(model, x, labels)
    return scores


@dataclass(frozen=True)
class Reference:
    """Mean and spread of each raw proxy over a reference sample of a space."""

    mean: dict[str, float]
    std: dict[str, float]

    @staticmethod
    def fit(rows: list[dict[str, float]]) -> "Reference":
        mean = {k: float(np.mean([r[k] for r in rows])) for k in PROXIES}
        std = {k: float(np.std([r[k] for r in rows])) or 1.0 for k in PROXIES}
        return Reference(mean, std)

    def score(self, raw: dict[str, float]) -> float:
        z = np.mean([(raw[k] - self.mean[k]) / self.std[k] for k in PROXIES]) / Z_SCALE
        return 0.5 * (1.0 + math.erf(float(z) / math.sqrt(2.0)))


class ProxyEstimator:
    """Training-free accuracy score in (0, 1): the standardized proxy ensemble.

    Args:
        reference: nets whose raw scores fix each proxy's mean and spread (a seeded sample of the space).
        resolution: input size the candidates are built at.
        batch: minibatch size of the scores.
        seed: seed of weights, inputs and labels (the same for every candidate).
        threads: torch threads while scoring (1: tiny nets gain nothing from more, and lose to contention).
    """

    kind = "proxy"

    def __init__(self, *, reference: list[NetSpec], resolution: int = 64, batch: int = 16, seed: int = 0,
                 threads: int = 1):
        if resolution < 8 or batch < 2 or threads < 1 or not reference:
            raise ValueError("need resolution >= 8, batch >= 2, threads >= 1 and a non-empty reference")
        self.resolution, self.batch, self.seed, self.threads = resolution, batch, seed, threads
        self.cache: dict[str, dict[str, float]] = {}
        self.reference = Reference.fit([self.raw(n) for n in reference])

    def raw(self, net: NetSpec) -> dict[str, float]:
        key = str(at_resolution(net, self.resolution))
        if key not in self.cache:
            before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                self.cache[key] = raw_scores(net, resolution=self.resolution, batch=self.batch, seed=self.seed)
            finally:
                torch.set_num_threads(before)
        return self.cache[key]

    def estimate(self, net: NetSpec, choices=None):
        return Estimate(self.reference.score(self.raw(net)), self.kind)

    def observe(self, choices, accuracy, kind) -> None:
        pass

    def settings(self) -> dict:
        return {"kind": self.kind, "resolution": self.resolution, "batch": self.batch, "seed": self.seed,
                "proxies": list(PROXIES), "reference": {"mean": self.reference.mean, "std": self.reference.std}}
