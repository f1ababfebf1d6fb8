"""Cost atoms: what Core ML actually launches for one block, derived from its traced ops.

A block's traced torch ops (``nas.ops.features.block_features(...).ops``) become
*atoms*: the layers Core ML runs after conversion, each with a cost class, its
arithmetic (FLOPs), the activation and weight elements it moves, how many
layers it launches, and -- for the Neural Engine -- the rule (``ane-rules.md``
id) that keeps it off the ANE, if any. Conversion assumptions (documented, not
fitted):

* BatchNorm right after a conv/linear is folded into its weights (free).
* ReLU right after a conv (or a folded BN) is fused into the conv (free);
  ReLU6, leaky, PReLU, sigmoid and hard-sigmoid are one extra layer; swish and
  h-swish two (sigmoid/relu6 then a multiply) -- the article notes ReLU6 costs
  ~25 % of MobileNet's GPU time where ReLU is free (Hollemans 2020, MobileNet v1).
* reshape/flatten/slice are free (views); concat is a memory-bound layer
  (rank-3 Concat, ANE-friendly); split, transpose, gather, pad and upsample
  are memory-bound layout layers with their own multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nas.ops.features import TracedOp, block_features

CLASSES = ("conv", "dwconv", "gconv", "linear", "eltwise", "concat", "memory", "gather", "shuffle", "split")
_CONVS = ("conv", "dwconv", "gconv", "linear")
_ACT_LAYERS = {"relu": 1, "relu6": 1, "leaky": 1, "prelu": 1, "sigmoid": 1, "hsigmoid": 1,
               "swish": 2, "hswish": 2}
_ELTWISE = ("bn", "add", "mul", "maxpool", "avgpool", "gap", "other")
_MEMORY = ("pad", "upsample")
_LAYOUT = {"gather": "gather", "transpose": "shuffle", "split": "split"}   # own multipliers
_FREE = ("reshape", "slice")

# Neural Engine fallback rules, ids from shared/reference/ane-rules.md (confidence in brackets).
ANE_RULES = {
    "G1": "A11 (iPhone 8/X): no third-party Core ML model uses the Neural Engine; .all = CPU+GPU [C]",
    "P1": "fp32-typed model: the fp16 Neural Engine is excluded [A]",
    "L3": "dilated convolution runs off the ANE [C]",
    "L4": "pooling with kernel > 13 or stride > 2 runs off the ANE [C]",
    "L6": "Core ML 3 ND layers (SplitND, transpose of the 5-D channel shuffle) run on CPU/GPU [C]",
    "L7": "broadcast multiply C x H x W by C x 1 x 1 (squeeze-and-excite scale): suspected fallback [C]",
    "L8": "gather / index layers run off the ANE [C]",
}


# Rules whose block, off the ANE, runs on the GPU rather than on the cheaper of CPU and GPU: the article saw
# Core ML run the squeeze-excite models' off-ANE parts on the GPU (MobileNetV3, GhostNet; ane-rules L7), while its
# ShuffleNet v2 (L6) ran on .all at about its .cpuOnly speed (12.6 vs 13.9 ms, .cpuAndGPU 34.0 ms, iPhone 11).
GPU_FALLBACK_RULES = ("L7",)

# Rules a regime no longer has (atoms keep their rule id; ``stack(..., drop)`` treats them as ANE-friendly).
# ML programs on iOS 16+: squeeze-excite models (MobileNetV3-L 0.76 ms, EfficientNet-B0 0.89 ms on iPhone 13,
# iFormer Table 18) and ShuffleNetV2 (0.74 ms, same table) run as fast per MAC as MobileNetV2 (0.73 ms), which an
# SE broadcast or channel-shuffle island off the Neural Engine would not allow.
REGIME_DROPS = {"coreml-mlprogram-ios16": ("L6", "L7")}

# Activation fusions on the Neural Engine (ids travel with a regime's ``drop`` tuple; none in the 2020 regime).
# An ANE task runs a convolution and then a nonlinearity in its own post stage: the task descriptor's NE block has
# a ``MACCfg.NonlinearMode`` and its kernel DMA loads "weights/bias/nonlinearity"; the compiler's nonlinear modes
# include RELU, SIGMOID, CLAMPED_RELU, PRELU, ELU and CUSTOM_LUT (tinygrad, extra/accel/ane/README.md, aneregs and
# README.old, reverse-engineered on an A14 / M1). So an activation right after a conv (``Atom.fuse``) costs no
# launch of its own there. F1: the one-op activations (ReLU6 = clamped ReLU, leaky / PReLU, sigmoid, hard-sigmoid)
# and the activation half of swish / h-swish (whose multiply stays an element-wise layer); F2: swish / h-swish
# whole, as one unary lookup table (CUSTOM_LUT; that the compiler does this is a guess). Launches fused per kind:
FUSIONS = {"F1": {"relu6": 1, "leaky": 1, "prelu": 1, "sigmoid": 1, "hsigmoid": 1, "swish": 1, "hswish": 1},
           "F2": {"relu6": 1, "leaky": 1, "prelu": 1, "sigmoid": 1, "hsigmoid": 1, "swish": 2, "hswish": 2}}
# F3: F2, and a residual add right after a conv (with any activation after it) fused into the conv's task: the
# task reads two source streams ("2x Read, both used for things like sum", tinygrad's README.md) and the compiler
# has fused element-wise op kinds (NEFUSED_EW, PEFUSED_ELEMENTWISE; README.old). The skip tensor's read is then
# left unpriced (a small underestimate).
FUSIONS["F3"] = dict(FUSIONS["F2"], add=1, **{"add+" + k: v for k, v in _ACT_LAYERS.items()})
REGIME_FUSES: dict[str, tuple[str, ...]] = {"coreml-mlprogram-ios16": ()}


def regime_traits(runtime: str) -> tuple[str, ...]:
    """What ``stack``'s ``drop`` gets for ``runtime``: the ANE rules it lacks and the ANE fusions it has."""
    return REGIME_DROPS.get(runtime, ()) + REGIME_FUSES.get(runtime, ())


@dataclass(frozen=True)
class Atom:
    """One launched Core ML layer (or a fused group) of a block."""

    cls: str
    flops: float
    act_elems: int       # activation elements read + written
    weight_elems: int
    launches: int
    ane_rule: str | None = None
    out_elems: int = 0   # output elements (a conv's reduction length per output = FLOPs / 2 / out_elems)
    kernel: tuple[int, int] = (1, 1)   # a conv's kernel height and width
    stride: int = 1                    # a conv's stride
    fuse: str = ""                     # an activation right after a conv: its kind (FUSIONS)
    kind: str = ""                     # the traced op kind it stands for (a label: nothing prices it)


def ane_rule(op: TracedOp) -> str | None:
    """The ane-rules.md id that keeps this traced op off the Neural Engine, or None."""
    if op.kind in _CONVS and op.dilation > 1:
        return "L3"
    if op.kind in ("maxpool", "avgpool") and (max(op.kernel) > 13 or op.stride > 2):
        return "L4"
    if op.kind == "mul" and op.bcast:
        return "L7"
    if op.kind == "gather":
        return "L8"
    if op.kind in ("split", "transpose"):
        return "L6"
    return None


def atoms_of(ops: tuple[TracedOp, ...]) -> tuple[Atom, ...]:
    """Turn traced ops (in call order) into launched atoms, applying the fusion rules above."""
    out: list[Atom] = []
    after_conv = False      # the previous non-free op was a conv (possibly with a folded BN)
    after_add = False       # the previous non-free op was an add right after a conv (a residual sum)
    for op in ops:
        if op.kind in _FREE:
            continue
        follows_conv, follows_add = after_conv, after_add
        after_add = op.kind == "add" and follows_conv
        rule = ane_rule(op)
        acts = op.in_elems + op.out_elems
        if op.kind in _CONVS:
            cls = "conv" if op.kind == "conv" else op.kind
            out.append(Atom(cls, 2.0 * op.macs, acts, op.weight_elems, 1, rule, op.out_elems, op.kernel, op.stride,
                            kind=op.kind))
            after_conv = True
            continue
        if op.kind == "bn" and after_conv:
            continue
        if op.kind == "relu" and after_conv:
            after_conv = False
            continue
        after_conv = False
        if op.kind in _ACT_LAYERS:
            fuse = op.kind if follows_conv else ("add+" + op.kind if follows_add else "")
            out.append(Atom("eltwise", float(op.out_elems), acts, 0, _ACT_LAYERS[op.kind], rule, fuse=fuse,
                            kind=op.kind))
        elif op.kind == "concat":
            out.append(Atom("concat", 0.0, acts, 0, 1, rule, kind=op.kind))
        elif op.kind in _LAYOUT:
            out.append(Atom(_LAYOUT[op.kind], 0.0, acts, 0, 1, rule, kind=op.kind))
        elif op.kind in _MEMORY:
            out.append(Atom("memory", 0.0, acts, 0, 1, rule, kind=op.kind))
        else:  # bn (unfused), add, mul, pools, anything else: one element-wise layer
            out.append(Atom("eltwise", float(op.out_elems), acts, op.weight_elems, 1, rule,
                            fuse="add" if op.kind == "add" and follows_conv else "", kind=op.kind))
    return tuple(out)


def block_atoms(block, in_shape) -> tuple[Atom, ...]:
    return atoms_of(block_features(block, in_shape).ops)


@dataclass(frozen=True)
class AtomArrays:
    """Atoms of many blocks as flat arrays (``block`` = index of the block each atom belongs to)."""

    cls: np.ndarray
    flops: np.ndarray
    act: np.ndarray
    wts: np.ndarray
    launches: np.ndarray
    ane_ok: np.ndarray
    to_gpu: np.ndarray   # off the ANE by a rule in GPU_FALLBACK_RULES
    ane_fused: np.ndarray   # share of the atom's launches fused into the preceding conv on the ANE (FUSIONS)
    out: np.ndarray
    kh: np.ndarray
    kw: np.ndarray
    stride: np.ndarray
    block: np.ndarray
    n_blocks: int


def stack(per_block: list[tuple[Atom, ...]], drop: tuple[str, ...] = ()) -> AtomArrays:
    """Flat arrays of the atoms; rules in ``drop`` (a regime's ``REGIME_DROPS``) do not keep an atom off the ANE,
    fusion ids in it (``FUSIONS``) make activations after a conv free there."""
    atoms = [(i, a) for i, blk in enumerate(per_block) for a in blk]
    fuses = [FUSIONS[f] for f in drop if f in FUSIONS]
    fused = [max((f.get(a.fuse, 0) for f in fuses), default=0) / a.launches if a.fuse else 0.0 for _, a in atoms]
    idx = {c: i for i, c in enumerate(CLASSES)}
    return AtomArrays(
        cls=np.array([idx[a.cls] for _, a in atoms], dtype=np.int64),
        flops=np.array([a.flops for _, a in atoms], dtype=float),
        act=np.array([a.act_elems for _, a in atoms], dtype=float),
        wts=np.array([a.weight_elems for _, a in atoms], dtype=float),
        launches=np.array([a.launches for _, a in atoms], dtype=float),
        ane_ok=np.array([a.ane_rule is None or a.ane_rule in drop for _, a in atoms], dtype=bool),
        to_gpu=np.array([a.ane_rule in GPU_FALLBACK_RULES and a.ane_rule not in drop for _, a in atoms], dtype=bool),
        ane_fused=np.minimum(np.array(fused, dtype=float), 1.0),
        out=np.array([a.out_elems for _, a in atoms], dtype=float),
        kh=np.array([a.kernel[0] for _, a in atoms], dtype=np.int64),
        kw=np.array([a.kernel[1] for _, a in atoms], dtype=np.int64),
        stride=np.array([a.stride for _, a in atoms], dtype=np.int64),
        block=np.array([i for i, _ in atoms], dtype=np.int64),
        n_blocks=len(per_block))
