"""Every training-free score of one network, each at the network's own input resolution.

The components the estimators are made of, under one name each:

* ``params``, ``macs``, ``fmap``, ``depth``, ``classes`` -- counted from the description
  (``nas.arch.counts.count``, at the network's input size), no torch: ``fmap`` is
  the feature-map volume (elements written by every conv and linear layer for one
  image), ``depth`` the number of conv and linear layers, ``classes`` the channels
  of the last layer's output (the classes its head states: the task, not a score);
* ``naswot``, ``synflow``, ``grad_norm`` -- ``nas.search.accuracy.proxy``;
* ``snip``, ``zico``, ``zen`` -- ``nas.search.accuracy.zerocost``.

Unlike the ``proxy`` estimator (which rebuilds every network at 64x64), the
torch scores here build the network at its *own* input size, so a 96-pixel and a
224-pixel version of one network score differently. Every score is computed on a
freshly built model from fixed seeds (weights, Gaussian inputs, random labels),
so the same network always gets the same value and the scores do not disturb
each other (synflow and zen rewrite the weights).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import torch

from nas.arch.build import build
from nas.arch.counts import count
from nas.arch.spec import NetSpec
from nas.search.accuracy import proxy, zerocost

COUNTED = ("params", "macs", "fmap", "depth", "classes")
_COUNT_FIELD = {"params": "params", "macs": "macs", "fmap": "fmap", "depth": "weighted", "classes": "outputs"}
TORCH = ("naswot", "synflow", "grad_norm", "snip", "zico", "zen")
COMPONENTS = COUNTED + TORCH

_FNS: dict[str, Callable] = {
    "naswot": lambda m, x, y: proxy.naswot(m, x),
    "synflow": lambda m, x, y: proxy.synflow(m, x),
    "grad_norm": proxy.grad_norm,
    "snip": zerocost.snip,
    "zico": zerocost.zico,
    "zen": lambda m, x, y: zerocost.zen(m, x),
}


def check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown score component(s) {unknown}; known: {', '.join(COMPONENTS)}")


def scores(net: NetSpec, names: Sequence[str], *, batch: int = 8, seed: int = 0, threads: int = 1,
           timings: dict[str, float] | None = None) -> dict[str, float]:
    """The named components of ``net`` at its own input size; ``timings`` (if given) gets seconds per name."""
    check_names(names)
    out: dict[str, float] = {}
    counts = None
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name in names:
            t0 = time.perf_counter()
            if name in COUNTED:        # one count serves them all; each is timed as that count's cost
                if counts is None:
                    counts, count_s = count(net), time.perf_counter() - t0
                out[name] = float(getattr(counts, _COUNT_FIELD[name]))
                seconds = count_s
            else:
                torch.manual_seed(seed)
                model = build(net)
                g = torch.Generator().manual_seed(seed + 1)
                x = torch.randn(batch, net.in_channels, *net.input_size, generator=g)
                labels = torch.randint(0, 1000, (batch,), generator=g)
                out[name] = float(_FNS[name](model, x, labels))
                seconds = time.perf_counter() - t0
            if timings is not None:
                timings[name] = seconds
    finally:
        torch.set_num_threads(before)
    return out
