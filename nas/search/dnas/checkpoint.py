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
    if not torch.isfinite(s["theta"]).all():
        bad("theta", "holds NaN or infinite values")
    net = s["net"]
    if not isinstance(net, dict) or set(net) != set(want["net"]):
        bad("net", "its parameter names are not this supernet's")
    for k, v in want["net"].items():
        if not isinstance(net[k], torch.Tensor) or net[k].shape != v.shape or net[k].dtype != v.dtype:
            bad(f"net.{k}", f"expected a {v.dtype} tensor of shape {tuple(v.shape)}")
    for name in ("opt_w", "opt_theta"):
        if not isinstance(s[name], dict) or set(s[name]) != {"state", "param_groups"}:
            bad(name, "not an optimizer state")
        params = [p for g in getattr(search, name).param_groups for p in g["params"]]
        state = s[name]["state"]
        if not isinstance(state, dict):
            bad(f"{name}.state", "not a mapping")
        for idx, st in state.items():
            if type(idx) is not int or not 0 <= idx < len(params) or not isinstance(st, dict):
                bad(f"{name}.state", f"entry {idx!r} is not one of its {len(params)} parameters")
            for k, v in st.items():
                if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape != params[idx].shape:
                    bad(f"{name}.state.{idx}.{k}", f"shape {tuple(v.shape)}, expected "
                        f"{tuple(params[idx].shape)}")
    rng = s["rng"]
    if not isinstance(rng, dict) or rng.get("bit_generator") != want["rng"]["bit_generator"] \
            or not isinstance(rng.get("state"), dict):
        bad("rng", f"not a {want['rng']['bit_generator']} generator state")
