"""CPU variants tried for cost model 1.6 and not kept, as patches over the shipped model (nas/ is unchanged).

``install()`` replaces ``model.atom_ms`` with ``cpu_atom_ms`` (the shipped CPU form, re-stated here, plus the
variant terms, each priced only when its parameter is in theta, i.e. in ``priors.UNIT_PARAMS['cpu']``) and
``priors.prior_for`` with a wrapper that adds the new parameters' priors. Other units go to the shipped code.
Flags (environment): CHAIN_FUSE=1, CPU_P=<p>, ZERO_COPY=1, ELC_REPLACE=1 (with ``elc``: element-wise and
depthwise layers lose their activation-memory term, per-element work replaces it). See NOTES.md beside this file for the figures.
"""
from __future__ import annotations

import math
import os

import numpy as np

from nas.latency.costmodel import model, priors
from nas.latency.costmodel.atoms import CLASSES

_C = {c: i for i, c in enumerate(CLASSES)}
_SHIPPED_ATOM_MS = model.atom_ms
_SHIPPED_PRIOR_FOR = priors.prior_for
CONVS = ("conv", "dwconv", "gconv", "linear")
# name: (prior centre (log), log-sigma, where the centre comes from)
NEW = {
    "launch_el": (math.log(20e-6), 1.5, "non-conv layers' own dispatch cost; centre = the CPU launch prior (20 us)"),
    "launch_dw": (math.log(20e-6), 1.5, "depthwise convs' own dispatch cost; centre = the CPU launch prior"),
    "thr": (math.log(10e-6), 1.5, "roofline time at which a layer keeps half of its extra cores busy (a thread "
            "fork / join of ~10 us; BNNS picks the thread count itself, n_threads = 0), wide"),
    "launch1": (math.log(float(os.environ.get("LAUNCH1_US", "5")) * 1e-6), 1.5,
                "dispatch of a single-threaded layer (no fork / join), prior 5 us, wide"),
    "dwk": (0.0, 0.5, "depthwise kernel-area exponent, prior 0 (cost per FLOP independent of the kernel)"),
    "elc": (math.log(0.4e-9), 1.5, "per-element work of element-wise / depthwise layers (s per output element): one "
            "element per cycle on one 2.5 GHz core, wide"),
    "pnorm": (math.log(3.0), 1.0, "CPU compute / memory overlap, p - 1; prior p = 4 (the shipped smooth maximum)"),
}


def cpu_atom_ms(a, th, unit):
    if unit != "cpu":
        return _SHIPPED_ATOM_MS(a, th, unit)
    eff = np.ones(len(CLASSES))
    eff[_C["dwconv"]], eff[_C["gconv"]] = np.exp(th["dw"]), np.exp(th["gconv"])
    mult = np.ones(len(CLASSES))
    for c in ("eltwise", "concat", "memory"):
        mult[_C[c]] = np.exp(th[c])
    for c in ("gather", "shuffle", "split"):
        mult[_C[c]] = np.exp(th.get(c, th["memory"]))
    peak = np.full(len(CLASSES), np.exp(th["peak"]))
    if "amx" in th:
        peak[[_C["conv"], _C["linear"]]] = np.exp(th["amx"])
    comp = a.flops / (peak[a.cls] * eff[a.cls])
    mem = a.act * model.BYTES[unit] / np.exp(th["bw"])
    if os.environ.get("CHAIN_FUSE") and len(a.cls):   # an element-wise layer right after another of the same
        el = a.cls == _C["eltwise"]                     # size in the same block shares its memory pass
        chained = el & np.r_[False, el[:-1] & (a.block[1:] == a.block[:-1]) & (a.act[1:] == a.act[:-1])]
        mem, comp = np.where(chained, 0.0, mem), np.where(chained, 0.0, comp)
    if "elc" in th and os.environ.get("ELC_REPLACE"):   # per-element work replaces their activation-bandwidth term
        mem = np.where(np.isin(a.cls, [_C["eltwise"], _C["dwconv"]]), 0.0, mem)
    pn = float(os.environ["CPU_P"]) if os.environ.get("CPU_P") else model.P_NORM
    if "pnorm" in th:
        pn = 1.0 + np.exp(th["pnorm"])
    roof = (comp ** pn + mem ** pn) ** (1.0 / pn) * mult[a.cls]
    n = 2.0   # performance cores, A11-A13 (calibration/apple_soc_specs.yaml)
    if "thr" in th:   # a layer of roofline time r keeps 1 + (n - 1) r / (r + r0) of n cores busy
        roof = roof * n / (1.0 + (n - 1.0) * roof / (roof + np.exp(th["thr"])))
    if "dwk" in th:   # depthwise cost per FLOP grows as (kernel area / 9) ** dwk
        roof = np.where(a.cls == _C["dwconv"], roof * (np.maximum(a.kh * a.kw, 1) / 9.0) ** th["dwk"], roof)
    launch = np.full(len(CLASSES), np.exp(th["launch"]))
    if "launch_el" in th:
        launch[[_C[c] for c in CLASSES if c not in CONVS]] = np.exp(th["launch_el"])
    if "launch_dw" in th:
        launch[_C["dwconv"]] = np.exp(th["launch_dw"])
    t = roof + a.launches * launch[a.cls]
    if "launch1" in th:   # one thread at 1/n the rate with a cheap dispatch, or n threads paying the fork / join
        t1 = n * roof + a.launches * np.exp(th["launch1"])
        t = (t ** -model.P_NORM + t1 ** -model.P_NORM) ** (-1.0 / model.P_NORM)
    if os.environ.get("ZERO_COPY"):   # channel concat / split of a planar (CHW) tensor: pointer offsets, no layer
        t = np.where(np.isin(a.cls, [_C["concat"], _C["split"]]), 0.0, t)
    if "elc" in th:   # per-element compute of element-wise layers (elements = FLOPs) and depthwise convs
        el = np.where(a.cls == _C["eltwise"], a.flops, np.where(a.cls == _C["dwconv"], a.out, 0.0))
        t = t + el * np.exp(th["elc"])
    if "wbw" in th:
        t = t + a.wts * model.BYTES[unit] / np.exp(th["wbw"])
    return t * 1e3


def prior_for(phone, unit, *args, **kw):
    p = _SHIPPED_PRIOR_FOR(phone, unit, *args, **kw)
    for k in priors.UNIT_PARAMS.get(unit, ()):
        if k in NEW:
            p.mean[k], p.sigma[k], p.sources[k] = NEW[k]
    return p


def install():
    model.atom_ms = cpu_atom_ms
    priors.prior_for = prior_for
    import nas.latency.costmodel.fit as fit
    fit.prior_for = prior_for
