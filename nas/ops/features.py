"""Cost features of one block at one input shape, traced from its torch module.

The block is built on the ``meta`` device (no memory, no arithmetic) and run
once under a ``TorchFunctionMode`` that records every tensor op it calls. From
that one trace come parameters, conv/linear MACs, bytes moved and op counts by
kind -- so no block needs hand-written counting formulas that could drift from
its builder. Latency cost models and the export op-count check read these.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import torch
from torch.overrides import TorchFunctionMode

from nas.ops.registry import Shape

# torch function name -> op kind. Anything else that produces a tensor counts as "other".
_KINDS = {
    "conv2d": "conv", "linear": "linear", "batch_norm": "bn",
    "relu": "relu", "relu_": "relu", "relu6": "relu6", "hardtanh": "relu6", "hardtanh_": "relu6",
    "hardswish": "hswish", "silu": "swish", "hardsigmoid": "hsigmoid", "sigmoid": "sigmoid",
    "prelu": "prelu", "leaky_relu": "leaky", "leaky_relu_": "leaky",
    "max_pool2d": "maxpool", "avg_pool2d": "avgpool", "adaptive_avg_pool2d": "gap",
    "__add__": "add", "add": "add", "__mul__": "mul", "mul": "mul", "cat": "concat",
    "split": "split", "reshape": "reshape", "transpose": "transpose", "flatten": "reshape",
    "__getitem__": "slice", "index_select": "gather", "pad": "pad", "interpolate": "upsample",
    "max_pool2d_with_indices": "maxpool",
}
_IGNORED = {"__get__", "__set__", "dim", "size", "numel", "__len__", "parameters", "_has_compatible_shallow_copy_type"}


class TracedOp(NamedTuple):
    """One traced tensor op of a block, in call order (for per-op cost models).

    ``in_elems`` counts tensor inputs other than parameters; ``kernel`` (height, width)
    and ``stride`` are a pooling or conv window's ((1, 1) and 1 otherwise); ``bcast``
    marks a binary op whose operands have different shapes (SE's C x 1 x 1 by C x H x W
    scale).
    """

    kind: str
    macs: int
    in_elems: int
    out_elems: int
    weight_elems: int
    dilation: int = 1
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    bcast: bool = False


@dataclass(frozen=True)
class OpFeatures:
    """Counts for one block at one input shape (batch 1).

    ``kinds`` counts ops by kind: conv, dwconv (groups == channels), gconv (1 < groups),
    linear, bn, activations by name, pools, add, mul, concat, split, reshape, transpose,
    slice, gather, pad, upsample, other.
    """

    params: int
    bn_params: int          # BatchNorm scale and shift (folded into convs at inference)
    macs: int
    in_elems: int
    out_elems: int
    weight_elems: int
    act_elems: int          # elements written by every op (intermediate traffic)
    max_dilation: int
    max_pool_kernel: int
    kinds: tuple[tuple[str, int], ...] = field(default=())
    ops: tuple[TracedOp, ...] = field(default=(), compare=False)

    def count(self, kind: str) -> int:
        return dict(self.kinds).get(kind, 0)

    @property
    def layers(self) -> int:
        """Ops that launch work on a device (everything but free reshapes)."""
        return sum(n for k, n in self.kinds if k not in ("reshape", "slice", "split"))


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.kinds: Counter[str] = Counter()
        self.macs = 0
        self.act_elems = 0
        self.max_dilation = 1
        self.max_pool_kernel = 1
        self.ops: list[TracedOp] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", str(func))
        if name in _IGNORED or not isinstance(out, (torch.Tensor, tuple, list)):
            return out
        kind = _KINDS.get(name, "other")
        op_macs, dil, k, stride, weight_elems = 0, 1, (1, 1), 1, 0
        if name == "conv2d":
            weight, groups = args[1], _arg(args, kwargs, 6, "groups", 1)
            dilation = _arg(args, kwargs, 5, "dilation", 1)
            dil = max(dilation) if isinstance(dilation, (tuple, list)) else dilation
            dil = int(dil)
            self.max_dilation = max(self.max_dilation, dil)
            cout, cin_g, kh, kw = weight.shape
            k, stride = (int(kh), int(kw)), int(_first(_arg(args, kwargs, 3, "stride", 1)))
            op_macs = out.numel() // out.shape[0] * cin_g * kh * kw
            weight_elems = weight.numel()
            if groups > 1:
                kind = "dwconv" if cin_g == 1 and groups == cout else "gconv"
        elif name == "linear":
            w = args[1]
            op_macs = (out.numel() // out.shape[0]) * w.shape[1]
            weight_elems = w.numel()
        elif kind in ("maxpool", "avgpool"):
            side = int(_first(_arg(args, kwargs, 1, "kernel_size", 1)))
            k, stride = (side, side), _first(_arg(args, kwargs, 2, "stride", None) or side)
            self.max_pool_kernel = max(self.max_pool_kernel, side)
        self.macs += op_macs
        if name == "split" or (name == "__getitem__" and not isinstance(out, torch.Tensor)):
            kind = "split"
        self.kinds[kind] += 1
        out_elems = _elems(out)
        if isinstance(out, torch.Tensor) and kind not in ("reshape", "slice"):
            self.act_elems += out.numel() // max(out.shape[0], 1) if out.dim() else 1
        inputs = [a for a in _tensors(args) if not isinstance(a, torch.nn.Parameter)]
        bcast = kind in ("add", "mul") and len({tuple(a.shape) for a in inputs}) > 1
        if kind == "bn":
            inputs = inputs[:1]
        self.ops.append(TracedOp(kind, op_macs, sum(_elems(a) for a in inputs), out_elems, weight_elems,
                                 dil, k, int(stride), bcast))
        return out


def _first(v):
    return v[0] if isinstance(v, (tuple, list)) else v


def _tensors(args):
    for a in args:
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (tuple, list)):
            yield from _tensors(a)


def _elems(t) -> int:
    """Elements of one sample (batch 1) of a tensor or a list of tensors."""
    if isinstance(t, torch.Tensor):
        return t.numel() // max(t.shape[0], 1) if t.dim() else 1
    if isinstance(t, (tuple, list)):
        return sum(_elems(x) for x in t)
    return 0


def _arg(args, kwargs, pos, name, default):
    if name in kwargs:
        return kwargs[name]
    return args[pos] if len(args) > pos else default


@lru_cache(maxsize=16384)
def block_features(block, in_shape: Shape) -> OpFeatures:
    """Trace one block (a ``BlockSpec``) at ``in_shape`` on the meta device."""
    from nas.ops import REGISTRY
    bt = REGISTRY.get(block.type)
    with torch.device("meta"):
        module = bt.build(block.args, in_shape).eval()
        x = torch.empty(1, *in_shape)
    rec = _Recorder()
    with torch.no_grad(), rec:
        y = module(x)
    params = sum(p.numel() for p in module.parameters())
    weights = sum(p.numel() for n, p in module.named_parameters() if p.dim() > 1)
    bn = sum(p.numel() for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)
             for p in m.parameters())
    return OpFeatures(params=params, bn_params=bn, macs=rec.macs, in_elems=x.numel(), out_elems=y.numel(),
                      weight_elems=weights, act_elems=rec.act_elems, max_dilation=rec.max_dilation,
                      max_pool_kernel=rec.max_pool_kernel, kinds=tuple(sorted(rec.kinds.items())),
                      ops=tuple(rec.ops))
