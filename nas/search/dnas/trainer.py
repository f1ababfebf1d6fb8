"""FBNet's differentiable search loop: alternate weights (SGD) and architecture (Adam).

Per epoch: the temperature is ``tau0 * decay**epoch`` (FBNet: 5.0, x0.956);
weights train on one split with Gumbel-softmax samples of the architecture;
after the warm-up epochs, the architecture parameters theta train on the other
split with the latency-aware loss:

* ``fbnet``: ``CE * alpha * log(LAT) ** beta`` (Wu et al. 2019; alpha 0.2, beta 0.6);
* ``absolute``: ``CE + lam * |LAT / T - 1|`` (TuNAS's absolute reward, Bender et
  al. 2020): it seeks the target instead of trading accuracy at a fixed rate.

A checkpoint is written atomically after every epoch; ``resume`` continues
from it. At the end the arg-max path and K samples of softmax(theta) are priced
on the table and scored on held-out data with the shared weights, briefly fine-tuned
per path (the shared weights serve many paths and score none well as they are); the best one
within the target wins.
"""

from __future__ import annotations

import copy
import math
import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from nas.errors import NasError
from nas.latency.pricing import SpacePricer
from nas.search.dnas.checkpoint import check_state
from nas.search.dnas.supernet import SuperNet, candidate_latency, expected_latency, layout_for
from nas.spaces.base import Space


@dataclass(frozen=True)
class DnasConfig:
    target_ms: float
    epochs: int = 6
    warmup_epochs: int = 1
    batch_size: int = 64
    resolution: int = 32
    lr_weights: float = 0.05
    lr_theta: float = 0.05
    tau0: float = 5.0
    tau_decay: float = 0.956
    loss: str = "absolute"          # absolute | fbnet
    alpha: float = 0.2
    beta: float = 0.6
    lam: float = 1.0
    hard: bool = False              # straight-through hard samples
    single_path: bool = True        # weight steps train one sampled path (SPOS-style; ~9x cheaper)
    finetune_epochs: int = 2        # per final candidate, on the weight split, before its held-out score
    samples: int = 8                # K samples drawn at the end, besides the arg-max
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        if self.loss not in ("absolute", "fbnet"):
            raise NasError(f"dnas loss must be 'absolute' or 'fbnet', got {self.loss!r}")
        if self.epochs < 1 or self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise NasError(f"dnas needs epochs >= 1 and 0 <= warmup < epochs (got {self.epochs}, "
                           f"{self.warmup_epochs})")
        if self.target_ms <= 0:
            raise NasError("target_ms must be positive")


@dataclass
class DnasCandidate:
    choices: list[int]
    latency_ms: float
    accuracy: float
    source: str                     # argmax | sample


@dataclass
class DnasResult:
    best: DnasCandidate
    candidates: list[DnasCandidate]
    expected_latency_ms: list[float] = field(default_factory=list)   # per epoch, under softmax(theta)
    theta: list[list[float]] = field(default_factory=list)


def _splits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = rng.permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return idx[:a], idx[a:b], idx[b:]


class DnasSearch:
    """One differentiable search over ``space`` priced on ``pricer``'s table."""

    def __init__(self, space: Space, pricer: SpacePricer, dataset, cfg: DnasConfig,
                 checkpoint: str | os.PathLike | None = None):
        self.space, self.pricer, self.data, self.cfg = space, pricer, dataset, cfg
        self.layout = layout_for(space)
        const, t = candidate_latency(space, pricer, self.layout)
        self.const_ms = const
        self.t = torch.tensor(t, dtype=torch.float32)
        n_opts = [len(space.decisions[d].options) for d in self.layout.searched]
        # Options a layer does not have (shorter rows) are masked out of the softmax.
        self.mask = torch.tensor([[0.0 if i < n else -1e9 for i in range(self.t.shape[1])] for n in n_opts])
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.net = SuperNet(space, self.layout, (cfg.resolution, cfg.resolution),
                            num_classes=len(dataset.classes)).to(cfg.device)
        self.theta = torch.zeros(self.t.shape, requires_grad=True)
        self.opt_w = torch.optim.SGD(self.net.parameters(), lr=cfg.lr_weights, momentum=0.9,
                                     weight_decay=1e-4)
        self.opt_theta = torch.optim.Adam([self.theta], lr=cfg.lr_theta, weight_decay=5e-4)
        self.split_w, self.split_theta, self.split_val = _splits(len(dataset.labels), self.rng)
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.epoch = 0
        self.history: list[float] = []
        self.gen = torch.Generator().manual_seed(cfg.seed)

    # -- pieces ------------------------------------------------------------------------------
    def weights(self, tau: float, *, grad: bool) -> torch.Tensor:
        """Gumbel-softmax mixture weights (FBNet). With ``single_path`` the weight step (``grad``
        False) samples one path hard, so only that candidate of each layer runs (SPOS-style): ~9x
        cheaper on a CPU, but the shared weights need many more epochs to become useful."""
        logits = self.theta + self.mask
        u = torch.rand(logits.shape, generator=self.gen).clamp_(1e-9, 1 - 1e-9)
        gumbel = -torch.log(-torch.log(u))
        if not grad and self.cfg.single_path:
            return F.one_hot((logits.detach() + gumbel).argmax(1), logits.shape[1]).float()
        if not grad:
            logits = logits.detach()
        soft = torch.softmax((logits + gumbel) / tau, dim=1)
        if not self.cfg.hard:
            return soft
        hard = F.one_hot(soft.argmax(1), soft.shape[1]).to(soft.dtype)
        return hard - soft.detach() + soft  # straight-through

    def latency(self, m: torch.Tensor) -> torch.Tensor:
        return expected_latency(self.const_ms, self.t, m)

    def loss(self, ce: torch.Tensor, lat: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        if c.loss == "fbnet":
            return ce * c.alpha * torch.log(lat) ** c.beta
        return ce + c.lam * torch.abs(lat / c.target_ms - 1.0)

    def _batches(self, idx: np.ndarray):
        order = self.rng.permutation(idx)
        for i in range(0, len(order), self.cfg.batch_size):
            b = torch.from_numpy(order[i:i + self.cfg.batch_size])
            yield self.data.images[b].to(self.cfg.device), self.data.labels[b].to(self.cfg.device)

    def expected_ms(self) -> float:
        with torch.no_grad():
            return float(self.latency(torch.softmax(self.theta + self.mask, dim=1)))

    # -- loop ----------------------------------------------------------------------------------
    def run_epoch(self) -> None:
        tau = self.cfg.tau0 * self.cfg.tau_decay ** self.epoch
        self.net.train()
        for x, y in self._batches(self.split_w):
            self.opt_w.zero_grad()
            F.cross_entropy(self.net(x, self.weights(tau, grad=False)), y).backward()
            self.opt_w.step()
        if self.epoch >= self.cfg.warmup_epochs:
            for x, y in self._batches(self.split_theta):
                self.opt_theta.zero_grad()
                m = self.weights(tau, grad=True)
                self.loss(F.cross_entropy(self.net(x, m), y), self.latency(m)).backward()
                self.opt_theta.step()
        self.epoch += 1
        self.history.append(self.expected_ms())
        self.save()

    def run(self, progress: Callable[[int, float], None] | None = None) -> DnasResult:
        while self.epoch < self.cfg.epochs:
            self.run_epoch()
            if progress:
                progress(self.epoch, self.history[-1])
        return self.finish()

    def choices_of(self, per_layer: list[int]) -> list[int]:
        choices = list(self.layout.fixed)
        for d, i in zip(self.layout.searched, per_layer):
            choices[d] = int(i)
        return choices

    def accuracy(self, per_layer: list[int]) -> float:
        """Held-out accuracy of one path: shared weights, briefly fine-tuned on that path alone (the
        supernet's weights serve many paths and score none of them well as they are), then restored."""
        m = F.one_hot(torch.tensor(per_layer), self.t.shape[1]).float()
        saved = copy.deepcopy(self.net.state_dict())
        opt = torch.optim.SGD(self.net.parameters(), lr=self.cfg.lr_weights, momentum=0.9, weight_decay=1e-4)
        self.net.train()
        for _ in range(self.cfg.finetune_epochs):
            for x, y in self._batches(self.split_w):
                opt.zero_grad()
                F.cross_entropy(self.net(x, m), y).backward()
                opt.step()
        self.net.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in self._batches(self.split_val):
                correct += int((self.net(x, m).argmax(1) == y).sum())
                total += len(y)
        self.net.load_state_dict(saved)
        return correct / max(total, 1)

    def finish(self) -> DnasResult:
        probs = torch.softmax(self.theta + self.mask, dim=1).detach().numpy().astype(np.float64)
        picks = [(probs.argmax(1).tolist(), "argmax")]
        for _ in range(self.cfg.samples):
            picks.append(([int(self.rng.choice(len(p), p=p / p.sum())) for p in probs], "sample"))
        seen, cands = set(), []
        for per_layer, source in picks:
            key = tuple(per_layer)
            if key in seen:
                continue
            seen.add(key)
            choices = self.choices_of(per_layer)
            cands.append(DnasCandidate(choices, float(self.pricer.price(np.array(choices))),
                                       self.accuracy(per_layer), source))
        within = [c for c in cands if c.latency_ms <= self.cfg.target_ms]
        best = max(within, key=lambda c: (c.accuracy, -c.latency_ms)) if within else \
            min(cands, key=lambda c: c.latency_ms)
        return DnasResult(best, cands, list(self.history), probs.tolist())

    # -- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict:
        return {"epoch": self.epoch, "net": self.net.state_dict(), "theta": self.theta.detach().clone(),
                "opt_w": self.opt_w.state_dict(), "opt_theta": self.opt_theta.state_dict(),
                "history": self.history, "rng": self.rng.bit_generator.state,
                "gen": self.gen.get_state(), "torch_rng": torch.get_rng_state(), "config": asdict(self.cfg)}

    def save(self) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint.with_suffix(".tmp")
        torch.save(self.state(), tmp)
        os.replace(tmp, self.checkpoint)

    def resume(self) -> bool:
        """Load the checkpoint if there is one; True when resumed.

        The file is read with ``weights_only=True`` (tensors and plain containers only: a pickled
        object in it is refused, never run) and checked against this search's settings and shapes
        before anything is restored."""
        if self.checkpoint is None or not self.checkpoint.exists():
            return False
        try:
            s = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 -- a damaged or crafted checkpoint must not be silently ignored
            if isinstance(e, pickle.UnpicklingError):
                reason = "it holds pickled Python objects, which are refused because loading them can run code"
            else:
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise NasError(f"{self.checkpoint}: not a dnas checkpoint of `nas search` ({reason[:200]}); "
                           f"delete it to start over") from None
        check_state(self, s)
        try:
            self.net.load_state_dict(s["net"])
            self.opt_w.load_state_dict(s["opt_w"])
            self.opt_theta.load_state_dict(s["opt_theta"])
            self.rng.bit_generator.state = s["rng"]
            self.gen.set_state(s["gen"])
            torch.set_rng_state(s["torch_rng"])
        except (ValueError, KeyError, TypeError, RuntimeError, OverflowError) as e:
            raise NasError(f"{self.checkpoint}: damaged dnas checkpoint ({str(e).splitlines()[0][:200]}); "
                           f"delete it to start over") from None
        with torch.no_grad():
            self.theta.copy_(s["theta"])
        self.epoch = s["epoch"]
        self.history = [float(v) for v in s["history"]]
        return True

def tau_at(cfg: DnasConfig, epoch: int) -> float:
    return cfg.tau0 * math.pow(cfg.tau_decay, epoch)
