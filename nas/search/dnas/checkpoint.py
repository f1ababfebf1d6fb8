"""Checks on a DNAS checkpoint before anything in it is used.

``torch.load(weights_only=True)`` already refuses pickled objects (a crafted
file cannot run code); this module refuses a file that loads but is not a
checkpoint of *this* search: other settings, missing or extra keys, tensors of
other shapes or types, non-finite values (the shared checks are in
``nas.search.statecheck``). Each refusal names the file and field.
"""

from __future__ import annotations

import math

from nas.errors import NasError
from nas.search.statecheck import check_optimizer, check_tensor, check_tensors, same_ints


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
        check_tensor(bad, s[name], want[name], name)
    check_tensors(bad, s["net"], want["net"], "net")
    for name in ("opt_w", "opt_theta"):
        check_optimizer(bad, getattr(search, name), s[name], want[name], name)
    rng = s["rng"]
    if not isinstance(rng, dict) or rng.get("bit_generator") != want["rng"]["bit_generator"] \
            or not isinstance(rng.get("state"), dict) or not same_ints(rng, want["rng"]):
        bad("rng", f"not a {want['rng']['bit_generator']} generator state (the same keys, integers in "
                   f"0..2**128-1)")
