"""More published zero-cost proxies, written from their papers: SNIP, ZiCo and Zen-score.

Each takes a freshly initialized torch model and a fixed random minibatch (no
data is downloaded: Gaussian inputs and random labels, as ``proxy.py`` does)
and returns one float, higher meaning "predicted more accurate":

* ``snip`` -- Lee et al., "SNIP: Single-shot Network Pruning based on
  Connection Sensitivity", ICLR 2019; used as a NAS proxy by Abdelfattah et
  al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021: the saliency
  sum over conv and linear weights of |theta * dL/dtheta| (L: cross-entropy),
  reported as its log.
* ``zico`` -- Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of
  Variation on Gradients", ICLR 2023: the minibatch is split into ``splits``
  parts and each part's gradient taken; for every conv/linear layer the sum over
  its weights of mean|g| / std(g) across the parts, and ZiCo is the sum over
  layers of the log of that sum (weights whose gradient does not vary are left
  out, as in the paper's code).
* ``zen`` -- Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image
  Recognition", ICCV 2021: with conv/linear weights drawn from N(0, 1) and
  BatchNorm on batch statistics, log E||f(x) - f(x + a*eps)||_F of the feature
  map before global pooling (a = 0.01, x and eps Gaussian), plus the sum over
  BatchNorm layers of log sqrt(mean channel variance of the BN input) -- the
  correction the paper adds for the variance that BN normalizes away.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_WEIGHTED = (nn.Conv2d, nn.Linear)


def _loss(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    out = model(x).flatten(1)
    return nn.functional.cross_entropy(out, labels % out.shape[1])


def snip(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    model.train().zero_grad()
    _loss(model, x, labels).backward()
    total = sum(float((m.weight.detach() * m.weight.grad).abs().sum())
                for m in model.modules() if isinstance(m, _WEIGHTED) and m.weight.grad is not None)
    return math.log(total + 1e-30)


def zico(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, splits: int = 2) -> float:
    layers = [m for m in model.modules() if isinstance(m, _WEIGHTED)]
    grads: list[list[torch.Tensor]] = [[] for _ in layers]
    model.train()
    for xs, ys in zip(x.chunk(splits), labels.chunk(splits)):
        model.zero_grad()
        _loss(model, xs, ys).backward()
        for g, m in zip(grads, layers):
            if m.weight.grad is not None:
                g.append(m.weight.grad.detach().flatten().clone())
    score = 0.0
    for g in grads:
        if len(g) < 2:
            continue
        stack = torch.stack(g).double()
        std = stack.std(0, unbiased=False)
        keep = std > 0
        s = float((stack.abs().mean(0)[keep] / std[keep]).sum())
        if s > 0:
            score += math.log(s)
    return score


def _pre_pool_hook(model: nn.Module):
    """The module whose *input* is the feature map before global pooling (None: use the output)."""
    from nas.arch.resolve import resolve
    spec = getattr(model, "spec", None)
    if spec is None:
        return None
    layers = resolve(spec)
    flat = [m for stage in model.stages for m in stage]
    for layer, module in zip(layers, flat):
        if layer.block.type == "gap":
            return module
    return None


def zen(model: nn.Module, x: torch.Tensor, *, alpha: float = 0.01, seed: int = 0) -> float:
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        for m in model.modules():
            if isinstance(m, _WEIGHTED):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g))
        bn_logs: list[float] = []
        feats: list[torch.Tensor] = []
        pool = _pre_pool_hook(model)
        def bn_scale(_m, inp, _o):   # log sqrt(mean channel variance of the BN input)
            var = inp[0].double().var((0, 2, 3), unbiased=False).mean()
            bn_logs.append(0.5 * math.log(float(var) + 1e-30))

        hooks = [m.register_forward_hook(bn_scale) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if pool is not None:
            hooks.append(pool.register_forward_hook(lambda _m, inp, _o: feats.append(inp[0])))
        try:
            model.train()
            eps = torch.randn(x.shape, generator=g)
            out_a = model(x)
            n_bn = len(bn_logs)
            f_a = feats[0] if feats else out_a
            feats.clear()
            out_b = model(x + alpha * eps)
            f_b = feats[0] if feats else out_b
        finally:
            for h in hooks:
                h.remove()
        delta = float((f_a - f_b).double().flatten(1).norm(dim=1).mean())
        return math.log(delta + 1e-30) + sum(bn_logs[:n_bn])
