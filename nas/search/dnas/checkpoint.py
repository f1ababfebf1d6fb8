"""Checks on a DNAS checkpoint before anything in it is used.

``torch.load(weights_only=True)`` already refuses pickled objects (a crafted
file cannot run code); this module refuses a file that loads but is not a
checkpoint of *this* search: other settings, missing or extra keys, tensors of
other shapes or types, non-finite values. Each refusal names the file and field.
"""

from __future__ import annotations

import math

import torch

from nas.errors import NasError


# No weight, architecture parameter or optimizer moment of a real run comes near this; 1e38 is finite
# in float32 but overflows to inf, then NaN, in the first forward pass.
MAX_ABS = 1e12


def _plausible(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) and (t.numel() == 0 or float(t.abs().max()) <= MAX_ABS)


def check_state(search, s) -> None:
    """Refuse a checkpoint whose structure is not this search's (settings, keys, shapes, types)."""
    def bad(field: str, why: str):
        raise NasError(f"{search.checkpoint}: field {field}: {why}; not a checkpoint of this search "
                       f"(delete it, or use the same command / another --out)")
    want = search.state()
    if not isinstance(s, dict):
        bad("(root)", f"a {type(s).__name__}, expected a mapping")
    if set(s) != set(want):
        bad("(root)", f"keys {sorted(map(str, s))}, expected {sorted(want)}")
    if s["config"] != want["config"]:
        raise NasError(f"{search.checkpoint}: checkpoint was written with other settings; use the same "
                       f"command, or another --out")
    if type(s["epoch"]) is not int or not 0 <= s["epoch"] <= search.cfg.epochs:
        bad("epoch", f"{s['epoch']!r} is not an epoch in 0..{search.cfg.epochs}")
    hist = s["history"]
    if not isinstance(hist, list) or len(hist) != s["epoch"] or \
            not all(isinstance(v, float) and math.isfinite(v) for v in hist):
        bad("history", f"expected {s['epoch']} finite numbers")
    for name in ("theta", "gen", "torch_rng"):
        if not isinstance(s[name], torch.Tensor) or s[name].shape != want[name].shape \
                or s[name].dtype != want[name].dtype:
            bad(name, f"expected a {want[name].dtype} tensor of shape {tuple(want[name].shape)}")
    if not _plausible(s["theta"]):
        bad("theta", f"holds NaN, infinite or implausibly large values (|x| > {MAX_ABS:g})")
    net = s["net"]
    if not isinstance(net, dict) or set(net) != set(want["net"]):
        bad("net", "its parameter names are not this supernet's")
    for k, v in want["net"].items():
        if not isinstance(net[k], torch.Tensor) or net[k].shape != v.shape or net[k].dtype != v.dtype:
            bad(f"net.{k}", f"expected a {v.dtype} tensor of shape {tuple(v.shape)}")
        if net[k].is_floating_point() and not _plausible(net[k]):
            bad(f"net.{k}", f"holds NaN, infinite or implausibly large values (|x| > {MAX_ABS:g})")
    for name in ("opt_w", "opt_theta"):
        _check_optimizer(bad, getattr(search, name), s[name], want[name], name)
    rng = s["rng"]
    if not isinstance(rng, dict) or rng.get("bit_generator") != want["rng"]["bit_generator"] \
            or not isinstance(rng.get("state"), dict) or not _same_ints(rng, want["rng"]):
        bad("rng", f"not a {want['rng']['bit_generator']} generator state (the same keys, integers in "
                   f"0..2**128-1)")


def _same_ints(got: dict, want: dict) -> bool:
    """``got`` has ``want``'s keys, and integers in 0..2**128-1 where ``want`` has integers (an
    out-of-range one is an ``OverflowError`` in numpy, a float is silently truncated)."""
    if set(got) != set(want):
        return False
    for k, w in want.items():
        v = got[k]
        if isinstance(w, dict):
            if not isinstance(v, dict) or not _same_ints(v, w):
                return False
        elif type(w) is int and (type(v) is not int or not 0 <= v < 2**128):
            return False
    return True


# The per-parameter state each optimizer of the search keeps (torch's own names); all of it, nothing else.
OPT_STATE = {torch.optim.SGD: {"momentum_buffer"}, torch.optim.Adam: {"step", "exp_avg", "exp_avg_sq"}}


def _check_optimizer(bad, opt, got, want, name: str) -> None:
    """An optimizer state of ``opt``: the same hyperparameters, and per parameter finite tensors of its
    shape and type (a plain number, or a NaN momentum, would only fail, or poison the weights, later)."""
    if not isinstance(got, dict) or set(got) != {"state", "param_groups"}:
        bad(name, "not an optimizer state")
    if got["param_groups"] != want["param_groups"]:
        bad(f"{name}.param_groups", "not this search's optimizer settings (learning rate, momentum, ...)")
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
            if not _plausible(v) or (k == "step" and v < 0):
                bad(f"{name}.state.{idx}.{k}", "holds NaN, infinite, negative or implausibly large values")
