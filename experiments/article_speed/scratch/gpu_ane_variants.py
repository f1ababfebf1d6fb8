"""GPU / ANE variants tried after cost model 1.5, as patches over the shipped model (nas/ untouched unless kept).

``install()`` wraps ``model.atom_ms`` (variant terms, each priced only when its flag is set or its parameter is
in theta, i.e. named on the harness's command line), ``atoms.atoms_of`` / ``atoms.stack`` (to mark activation
layers that directly follow a conv) and ``priors.prior_for`` (the new parameters' priors). With no parameter
and no flag the shipped model runs unchanged (the ``base`` run).

Flags (environment):
* ``V_ANE_ACTFUSE=1|all``: on the ANE an activation layer right after a conv in the same block is free (the
  Neural Engine applies the activation to a conv's output in the same pass); ``1`` = one-layer activations
  (ReLU6, leaky, PReLU, sigmoid, hard-sigmoid), ``all`` = also swish / h-swish (both of their layers).
* ``V_GPU_GEMV=se|all``: on the GPU a conv on a 1 x 1 map (squeeze-excite; ``all``: also the FC head) has no
  occupancy term: a matrix-vector product splits each output's reduction across a threadgroup.
* ``V_ANE_PLANAR=<p>``: on the ANE a block's non-conv layers overlap its convs (``block_ms``); Apple's patent
  US 2021/0271958 A1: planar engine circuits perform non-convolution operations in parallel with the neural
  engine circuits' convolutions.
* ``V_ANE_DEV=bw[,launch,...]``: those ANE parameters get a per-phone deviation (log-sigma 0.5, as the CPU's
  and GPU's ``bw``), besides ``peak``.
Parameters: ``ane:actm`` (multiplier on those activation layers, prior 1, log-sigma 1.5); ``gpu:occ1`` (own occupancy count for convs / FC on a 1 x 1 map, prior = ``occ``'s centre / 32,
the SIMD width: one SIMD group per output reduces its input channels in parallel).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from nas.latency.costmodel import atoms, model, priors
from nas.latency.costmodel.atoms import CLASSES

_C = {c: i for i, c in enumerate(CLASSES)}
_SHIPPED_ATOM_MS = model.atom_ms
_SHIPPED_PRIOR_FOR = priors.prior_for
_SHIPPED_ATOMS_OF = atoms.atoms_of
_SHIPPED_STACK = atoms.stack
_SHIPPED_BLOCK_MS = model.block_ms
NEW: dict[str, tuple[float, float, str]] = {}


@dataclass(frozen=True)
class FAtom(atoms.Atom):
    fused_act: bool = False


def atoms_of(ops):
    """The shipped atoms, with activation layers that directly follow a conv marked (``fused_act``)."""
    out = list(_SHIPPED_ATOMS_OF(ops))
    kinds = [op for op in ops if op.kind not in atoms._FREE]
    # replay the shipped walk to know which emitted atom is an activation right after a conv (+ folded BN)
    res, j, after_conv = [], 0, False
    for op in kinds:
        if op.kind in atoms._CONVS:
            res.append(out[j]); j += 1; after_conv = True
            continue
        if op.kind == "bn" and after_conv:
            continue
        if op.kind == "relu" and after_conv:
            after_conv = False
            continue
        a = out[j]; j += 1
        fa = after_conv and op.kind in atoms._ACT_LAYERS
        res.append(FAtom(**{f: getattr(a, f) for f in a.__dataclass_fields__}, fused_act=fa))
        after_conv = False
    assert j == len(out)
    return tuple(res)


def stack(per_block, drop=()):
    arr = _SHIPPED_STACK(per_block, drop)
    fa = np.array([getattr(a, "fused_act", False) for blk in per_block for a in blk], dtype=bool)
    object.__setattr__(arr, "fused_act", fa)
    return arr


def atom_ms(a, th, unit):
    t = _SHIPPED_ATOM_MS(a, th, unit)
    flag = os.environ.get("V_ANE_ACTFUSE")
    if unit == "ane" and flag:
        fused = a.fused_act & ((a.launches == 1) if flag == "1" else True)
        t = np.where(fused, 0.0, t)
    if unit == "ane" and "actm" in th:   # activation right after a conv: its own multiplier (1 = shipped)
        t = np.where(a.fused_act, t * np.exp(th["actm"]), t)
    gemv = os.environ.get("V_GPU_GEMV")
    if unit == "gpu" and "occ" in th and (gemv or "occ1" in th):
        dense = np.isin(a.cls, [_C["conv"], _C["linear"]] if gemv == "all" or not gemv else [_C["conv"]])
        hw1 = dense & (a.wts > 0) & (a.flops / (2.0 * np.maximum(a.wts, 1.0)) < 1.5)
        peak = np.exp(th["peak"])
        occ_t = np.where(a.out > 0, a.flops / peak * np.exp(th["occ"]) / np.maximum(a.out, 1.0), 0.0) * 1e3
        t = t - np.where(hw1, occ_t, 0.0)      # dense convs / FC: class efficiency 1
        if "occ1" in th:
            t = t + np.where(hw1, occ_t * np.exp(th["occ1"] - th["occ"]), 0.0)
    return t


def block_ms(a, unit, th, fallback=None):
    """``V_ANE_PLANAR=<p>``: on the ANE, a block's element-wise / pool / layout layers (the planar engine) overlap
    its convs (the neural engine cores): on-ANE block time = p-norm(conv time, other time) instead of their sum."""
    blocks, code = _SHIPPED_BLOCK_MS(a, unit, th, fallback)
    pv = os.environ.get("V_ANE_PLANAR")
    if unit != "ane" or not pv or not len(a.cls):
        return blocks, code
    p = float(pv)
    t = model.atom_ms(a, th, "ane")
    on = code == 0
    conv = np.isin(a.cls, [_C[c] for c in atoms._CONVS])
    tc = np.bincount(a.block, np.where(on & conv, t, 0.0), minlength=a.n_blocks)
    tp = np.bincount(a.block, np.where(on & ~conv, t, 0.0), minlength=a.n_blocks)
    ov = np.maximum(tc, tp) if p >= 100 else (tc ** p + tp ** p) ** (1.0 / p)
    return blocks - tc - tp + ov, code


def prior_for(phone, unit, *args, **kw):
    p = _SHIPPED_PRIOR_FOR(phone, unit, *args, **kw)
    if unit == "gpu" and "occ1" in priors.UNIT_PARAMS.get("gpu", ()):
        p.mean["occ1"] = p.mean["occ"] - math.log(32)
        p.sigma["occ1"] = 2.0
        p.sources["occ1"] = "occupancy of a conv / FC on a 1 x 1 map: occ's centre / 32 (one SIMD group per output)"
    if unit == "ane" and "actm" in priors.UNIT_PARAMS.get("ane", ()):
        p.mean["actm"], p.sigma["actm"] = 0.0, 1.5
        p.sources["actm"] = ("multiplier on an activation layer right after a conv on the ANE (0 = fused into the "
                             "conv's pass, 1 = a separate layer); prior 1 (the shipped pricing), wide")
    return p


def install():
    model.atom_ms = atom_ms
    model.block_ms = block_ms
    atoms.atoms_of = atoms_of
    atoms.stack = stack
    priors.prior_for = prior_for
    import nas.latency.costmodel.fit as fit
    fit.prior_for = prior_for
    for n in filter(None, os.environ.get("V_ANE_DEV", "").split(",")):   # per-phone deviations on the ANE
        fit.FORM["phone_dev"]["ane"][n] = 0.5
