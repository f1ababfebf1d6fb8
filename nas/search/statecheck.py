"""Checks on a loaded torch training state before anything in it is restored.

``torch.load(weights_only=True)`` already refuses pickled objects (a crafted file cannot run code); these
helpers refuse a file that loads but is not a state of *this* run: tensors missing, extra, of another
shape or type, non-finite or implausibly large values, optimizer and scheduler states of other settings.
Shared by DNAS checkpoints (``nas.search.dnas.checkpoint``) and the Ray backend's per-trial ``run.pt``
(``nas.search.accuracy.train``). Each check takes ``bad(field, why)``, which raises the caller's
``NasError`` naming the file and field.
"""

from __future__ import annotations

import math

import torch

from nas.fsutil import is_finite_number

# No weight, architecture parameter or optimizer moment of a real run comes near this; 1e38 is finite
# in float32 but overflows to inf, then NaN, in the first forward pass.
MAX_ABS = 1e12

# The per-parameter state each optimizer keeps (torch's own names); all of it, nothing else.
OPT_STATE = {torch.optim.SGD: {"momentum_buffer"}, torch.optim.Adam: {"step", "exp_avg", "exp_avg_sq"}}


def plausible(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) and (t.numel() == 0 or float(t.abs().max()) <= MAX_ABS)


def check_tensor(bad, got, want: torch.Tensor, field: str, values: bool = True) -> None:
    """A tensor of ``want``'s shape and dtype (and, floating, with plausible values)."""
    if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
        bad(field, f"expected a {want.dtype} tensor of shape {tuple(want.shape)}")
    if values and got.is_floating_point() and not plausible(got):
        bad(field, f"holds NaN, infinite or implausibly large values (|x| > {MAX_ABS:g})")


def check_tensors(bad, got, want: dict, field: str) -> None:
    """A state dict with exactly ``want``'s names, each tensor checked as above."""
    if not isinstance(got, dict) or set(got) != set(want):
        bad(field, "its parameter names are not this network's")
    for k, v in want.items():
        check_tensor(bad, got[k], v, f"{field}.{k}")


def same_ints(got: dict, want: dict) -> bool:
    """``got`` has ``want``'s keys, and integers in 0..2**128-1 where ``want`` has integers (an
    out-of-range one is an ``OverflowError`` in numpy, a float is silently truncated)."""
    if set(got) != set(want):
        return False
    for k, w in want.items():
        v = got[k]
        if isinstance(w, dict):
            if not isinstance(v, dict) or not same_ints(v, w):
                return False
        elif type(w) is int and (type(v) is not int or not 0 <= v < 2**128):
            return False
    return True


def _lr_ok(v, top) -> bool:
    return is_finite_number(v) and 0 <= v <= top


def check_optimizer(bad, opt, got, want, name: str, scheduled: bool = False) -> None:
    """An optimizer state of ``opt``: the same hyperparameters (``scheduled``: a learning rate in
    [0, the initial one], which a schedule moves), and per parameter finite tensors of its shape and
    type (a plain number, or a NaN momentum, would only fail, or poison the weights, later)."""
    if not isinstance(got, dict) or set(got) != {"state", "param_groups"}:
        bad(name, "not an optimizer state")
    groups, wgroups = got["param_groups"], want["param_groups"]
    if scheduled and isinstance(groups, list) and len(groups) == len(wgroups) and \
            all(isinstance(g, dict) and _lr_ok(g.get("lr"), w["lr"]) for g, w in zip(groups, wgroups)):
        groups = [dict(g, lr=w["lr"]) for g, w in zip(groups, wgroups)]
    if groups != wgroups:
        bad(f"{name}.param_groups", "not this run's optimizer settings (learning rate, momentum, ...)")
    params = [p for g in opt.param_groups for p in g["params"]]
    state, keys = got["state"], OPT_STATE[type(opt)]
    if not isinstance(state, dict):
        bad(f"{name}.state", "not a mapping")
    for idx, st in state.items():
        if type(idx) is not int or not 0 <= idx < len(params) or not isinstance(st, dict):
            bad(f"{name}.state", f"entry {idx!r:.40} is not one of its {len(params)} parameters")
        if set(st) != keys:
            bad(f"{name}.state.{idx}", f"keys {sorted(map(str, st))}, expected {sorted(keys)}")
        for k, v in st.items():
            shape, dtype = ((), torch.float32) if k == "step" else (params[idx].shape, params[idx].dtype)
            if not isinstance(v, torch.Tensor) or v.shape != shape or v.dtype != dtype:
                bad(f"{name}.state.{idx}.{k}", f"expected a {dtype} tensor of shape {tuple(shape)}")
            if not plausible(v) or (k == "step" and v < 0):
                bad(f"{name}.state.{idx}.{k}", "holds NaN, infinite, negative or implausibly large values")


# What a learning-rate schedule moves as it steps; everything else in its state is its settings.
SCHED_MOVING = ("last_epoch", "_step_count", "_last_lr", "_is_initial", "_get_lr_called_within_step")


def check_scheduler(bad, got, want: dict, name: str, steps: int) -> None:
    """A schedule of ``want``'s settings, at most ``steps`` steps in, learning rates in [0, the base]."""
    if not isinstance(got, dict) or set(got) != set(want):
        bad(name, f"keys {sorted(map(str, got)) if isinstance(got, dict) else got!r:.80}, expected {sorted(want)}")
    for k, w in want.items():
        v = got[k]
        if k in ("last_epoch", "_step_count"):
            ok = type(v) is int and 0 <= v <= steps + 1
        elif k == "_last_lr":
            top = max(want.get("base_lrs") or [0.0])
            ok = isinstance(v, list) and len(v) == len(w) and all(_lr_ok(x, top) for x in v)
        elif k in SCHED_MOVING:
            ok = type(v) is type(w)
        else:
            ok = v == w and type(v) is type(w)
        if not ok:
            bad(f"{name}.{k}", f"{v!r:.60} is not this run's schedule")
