"""Short training: the same reduced recipe for every candidate, accuracy on a held-out split.

The network is built at the dataset's resolution with its classifier resized
to the dataset's classes, trained ``epochs`` with SGD (momentum 0.9, cosine
schedule) from fixed seeds, and scored by top-1 accuracy on a fixed 20% split.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn

from nas.arch.build import build
from nas.arch.spec import NetSpec
from nas.search.accuracy.base import Estimate
from nas.search.accuracy.data import Dataset


def for_dataset(net: NetSpec, data: Dataset) -> NetSpec:
    """``net`` at the dataset's resolution, its final fc resized to the dataset's classes."""
    size = tuple(data.images.shape[2:])
    stages = net.stages
    last = stages[-1][-1]
    if last.type == "fc":
        stages = stages[:-1] + (stages[-1][:-1] + (last.with_args(out=len(data.classes)),),)
    return replace(net, input_size=size, stages=stages)


class TrainEstimator:
    """Validation accuracy (0..1) after a short training run."""

    kind = "train"

    def __init__(self, *, data: Dataset, epochs: int = 3, batch: int = 64, lr: float = 0.05, seed: int = 0,
                 threads: int = 1, val_fraction: float = 0.2):
        if epochs < 1 or batch < 2 or not 0 < val_fraction < 1:
            raise ValueError("need epochs >= 1, batch >= 2 and 0 < val_fraction < 1")
        self.data, self.epochs, self.batch, self.lr, self.seed, self.threads = data, epochs, batch, lr, seed, threads
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(data.labels), generator=g)
        n_val = max(1, int(len(order) * val_fraction))
        self.val, self.train = order[:n_val], order[n_val:]
        self.cache: dict[str, float] = {}

    def accuracy(self, net: NetSpec) -> float:
        spec = for_dataset(net, self.data)
        key = str(spec)
        if key in self.cache:
            return self.cache[key]
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            self.cache[key] = self._train(spec)
        finally:
            torch.set_num_threads(before)
        return self.cache[key]

    def _train(self, spec: NetSpec) -> float:
        torch.manual_seed(self.seed)
        model = build(spec)
        opt = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, weight_decay=4e-5)
        steps = self.epochs * math.ceil(len(self.train) / self.batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        g = torch.Generator().manual_seed(self.seed + 1)
        x, y = self.data.images, self.data.labels
        model.train()
        for _ in range(self.epochs):
            perm = self.train[torch.randperm(len(self.train), generator=g)]
            for i in range(0, len(perm), self.batch):
                idx = perm[i:i + self.batch]
                if len(idx) < 2:
                    continue
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[idx]).flatten(1), y[idx]).backward()
                opt.step()
                sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(self.val), 256):
                idx = self.val[i:i + 256]
                correct += int((model(x[idx]).flatten(1).argmax(1) == y[idx]).sum())
        return correct / len(self.val)

    def estimate(self, net: NetSpec, choices=None) -> Estimate:
        return Estimate(self.accuracy(net), self.kind)

    def observe(self, choices, accuracy, kind) -> None:
        pass

    def settings(self) -> dict:
        return {"kind": self.kind, "data": self.data.name, "resolution": int(self.data.images.shape[-1]),
                "epochs": self.epochs, "batch": self.batch, "lr": self.lr, "seed": self.seed}
