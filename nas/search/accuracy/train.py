"""Short training: the same reduced recipe for every candidate, accuracy on a held-out split.

The network is built at the dataset's resolution with its classifier resized
to the dataset's classes, trained ``epochs`` with SGD (momentum 0.9, cosine
schedule) from fixed seeds, and scored by top-1 accuracy on a fixed 20% split.
A ``TrainingRun`` advances one epoch at a time and saves/restores its whole
state (weights, optimizer, schedule, random streams), so a run that is killed
and resumed from its last epoch ends exactly where an uninterrupted one does;
the Ray backend checkpoints it every epoch (``nas.search.backends.ray_tune``).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from nas.arch.build import build
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.search.accuracy.base import Estimate
from nas.search.accuracy.data import Dataset
from nas.search.statecheck import check_optimizer, check_scheduler, check_tensor, check_tensors


def for_dataset(net: NetSpec, data: Dataset) -> NetSpec:
    """``net`` at the dataset's resolution, its final fc resized to the dataset's classes."""
    size = tuple(data.images.shape[2:])
    stages = net.stages
    last = stages[-1][-1]
    if last.type == "fc":
        stages = stages[:-1] + (stages[-1][:-1] + (last.with_args(out=len(data.classes)),),)
    return replace(net, input_size=size, stages=stages)


class TrainingRun:
    """One candidate's training under a ``TrainEstimator``'s recipe, an epoch at a time."""

    def __init__(self, recipe: "TrainEstimator", spec: NetSpec, device: str = "cpu"):
        self.recipe, self.device, self.epoch = recipe, torch.device(device), 0
        torch.manual_seed(recipe.seed)
        self.model = build(spec).to(self.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=recipe.lr, momentum=0.9, weight_decay=4e-5)
        steps = recipe.epochs * math.ceil(len(recipe.train) / recipe.batch)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, steps)
        self.order = torch.Generator().manual_seed(recipe.seed + 1)

    @property
    def done(self) -> bool:
        return self.epoch >= self.recipe.epochs

    def train_epoch(self) -> None:
        r = self.recipe
        x, y = r.data.images, r.data.labels
        self.model.train()
        perm = r.train[torch.randperm(len(r.train), generator=self.order)]
        for i in range(0, len(perm), r.batch):
            idx = perm[i:i + r.batch]
            if len(idx) < 2:       # BatchNorm cannot train on one sample
                continue
            self.opt.zero_grad()
            out = self.model(x[idx].to(self.device)).flatten(1)
            nn.functional.cross_entropy(out, y[idx].to(self.device)).backward()
            self.opt.step()
            self.sched.step()
        self.epoch += 1

    def accuracy(self) -> float:
        """Top-1 on the held-out split; eval mode, no state changes (so it may run every epoch)."""
        r = self.recipe
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(r.val), 256):
                idx = r.val[i:i + 256]
                pred = self.model(r.data.images[idx].to(self.device)).flatten(1).argmax(1).cpu()
                correct += int((pred == r.data.labels[idx]).sum())
        return correct / len(r.val)

    def state(self) -> dict:
        return {"epoch": self.epoch, "model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict(), "order": self.order.get_state(),
                "torch_rng": torch.get_rng_state()}

    def load(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.order.set_state(state["order"])
        torch.set_rng_state(state["torch_rng"])

    def restore(self, path: Path) -> None:
        """Continue from a ``state()`` saved at ``path`` (the Ray backend's per-trial ``run.pt``): read
        with ``weights_only=True`` (a pickled object is refused, never run) and checked to be a state of
        this run (keys, tensors, optimizer and schedule settings) before anything is restored; else a
        ``NasError`` naming the file and field."""
        try:
            s = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 -- damaged or crafted: refused, never used
            why = "it holds pickled Python objects" if isinstance(e, pickle.UnpicklingError) else \
                (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise NasError(f"{path}: not a training checkpoint of `nas search` ({why})") from None
        check_run_state(self, s, path)
        self.load(s)


def check_run_state(run: TrainingRun, s, path) -> None:
    """Refuse a ``TrainingRun`` state that is not this run's (see ``nas.search.statecheck``)."""
    def bad(field: str, why: str):
        raise NasError(f"{path}: field {field}: {why}; not a training checkpoint of this candidate")
    want = run.state()
    if not isinstance(s, dict) or set(s) != set(want):
        bad("(root)", f"expected a mapping with keys {sorted(want)}")
    if type(s["epoch"]) is not int or not 0 <= s["epoch"] <= run.recipe.epochs:
        bad("epoch", f"{s['epoch']!r:.40} is not an epoch in 0..{run.recipe.epochs}")
    check_tensors(bad, s["model"], want["model"], "model")
    check_optimizer(bad, run.opt, s["opt"], want["opt"], "opt", scheduled=True)
    check_scheduler(bad, s["sched"], want["sched"], "sched", run.sched.T_max)
    for name in ("order", "torch_rng"):
        check_tensor(bad, s[name], want[name], name)


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

    def start(self, net: NetSpec, device: str = "cpu") -> TrainingRun:
        """A fresh training run of ``net`` (adapted to the dataset) under this recipe."""
        return TrainingRun(self, for_dataset(net, self.data), device)

    def accuracy(self, net: NetSpec) -> float:
        key = str(for_dataset(net, self.data))
        if key in self.cache:
            return self.cache[key]
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)   # one thread: same float sums everywhere, and parallel workers fit
        try:
            run = self.start(net)
            while not run.done:
                run.train_epoch()
            self.cache[key] = run.accuracy()
        finally:
            torch.set_num_threads(before)
        return self.cache[key]

    def estimate(self, net: NetSpec, choices=None) -> Estimate:
        return Estimate(self.accuracy(net), self.kind)

    def observe(self, choices, accuracy, kind) -> None:
        pass

    def settings(self) -> dict:
        return {"kind": self.kind, "data": self.data.name, "resolution": int(self.data.images.shape[-1]),
                "epochs": self.epochs, "batch": self.batch, "lr": self.lr, "seed": self.seed}
