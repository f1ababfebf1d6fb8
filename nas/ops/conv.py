"""Plain layers: conv, depthwise-separable conv, pooling, global pool, FC, skip, SE."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct, activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, conv_out, register, tok
from nas.ops.se import SqueezeExcite, block_se, check_se_ratio, se_channels, se_fields


def _spatial(in_shape: Shape, k: int, s: int, p: int | None, d: int = 1, ceil: bool = False):
    _, h, w = in_shape
    return conv_out(h, k, s, p, d, ceil), conv_out(w, k, s, p, d, ceil)


def _pad(p: int) -> int | None:
    return None if p < 0 else p


def _conv_shape(a: "Conv", in_shape: Shape) -> Shape:
    if in_shape[0] % a.groups or a.out % a.groups:
        raise SpecError(f"groups {a.groups} must divide input {in_shape[0]} and output {a.out} "
                        f"channels", field="g")
    return (a.out, *_spatial(in_shape, a.kernel, a.stride, _pad(a.padding), a.dilation))


@register("conv", out_shape=_conv_shape, doc="Convolution + BN + activation (stems, heads, 1x1 "
          "projections). Tokens: c out, k kernel, s stride, g groups, d dilation, p padding "
          "(default same), a activation, nobn (bias instead of BN).")
@dataclass(frozen=True, kw_only=True)
class Conv:
    kernel: int = tok("k", 3, always=True)
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    groups: int = tok("g", 1)
    dilation: int = tok("d", 1)
    padding: int = tok("p", -1)
    act: str = tok("a", "relu", choices=ACTIVATIONS)
    nobn: bool = tok("nobn", False)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("k", self.kernel)
        check_positive("s", self.stride, (1, 2, 3, 4))
        check_positive("g", self.groups)
        check_positive("d", self.dilation)

    @staticmethod
    def build(a: "Conv", in_shape: Shape) -> nn.Module:
        return ConvBNAct(in_shape[0], a.out, a.kernel, a.stride, a.groups, a.dilation, a.act,
                         bn=not a.nobn, padding=_pad(a.padding))


def _ds_shape(a: "DepthwiseSeparable", in_shape: Shape) -> Shape:
    return (a.out, *_spatial(in_shape, a.kernel, a.stride, None))


@register("ds", out_shape=_ds_shape, doc="Depthwise-separable conv (MobileNet v1): depthwise "
          "kxk + BN + act, pointwise 1x1 + BN + act. Tokens: c, k, s, a; se (SE on each conv's output "
          "before its activation, reduced to int(se x channels), ReLU inside, sigmoid gate: MobileOne's "
          "reparameterized blocks, Vasu et al. 2023).")
@dataclass(frozen=True, kw_only=True)
class DepthwiseSeparable:
    kernel: int = tok("k", 3, always=True)
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)
    se: float = tok("se", 0.0)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        check_se_ratio(self.se)

    @staticmethod
    def build(a: "DepthwiseSeparable", in_shape: Shape) -> nn.Module:
        c = in_shape[0]
        if a.se <= 0:
            return nn.Sequential(ConvBNAct(c, c, a.kernel, a.stride, groups=c, act=a.act),
                                 ConvBNAct(c, a.out, 1, act=a.act))
        layers = []
        for cin, cout, k, s, g in ((c, c, a.kernel, a.stride, c), (c, a.out, 1, 1, 1)):
            layers += [ConvBNAct(cin, cout, k, s, groups=g, act="none"),
                       SqueezeExcite(cout, se_channels(cout, a.se, 1), "relu", "sigmoid"), activation(a.act, cout)]
        return nn.Sequential(*layers)


def _pool_shape(a: "Pool", in_shape: Shape) -> Shape:
    return (in_shape[0], *_spatial(in_shape, a.kernel, a.stride, a.padding, 1, a.ceil))


@register("pool", out_shape=_pool_shape, doc="Max or average pooling. Tokens: t type (max|avg), "
          "k kernel, s stride, p padding (default 0), ceil (ceil mode).")
@dataclass(frozen=True, kw_only=True)
class Pool:
    type: str = tok("t", "max", choices=("max", "avg"), always=True)
    kernel: int = tok("k", 2, always=True)
    stride: int = tok("s", 2, always=True)
    padding: int = tok("p", 0)
    ceil: bool = tok("ceil", False)

    def __post_init__(self):
        check_positive("k", self.kernel)
        check_positive("s", self.stride)

    @staticmethod
    def build(a: "Pool", in_shape: Shape) -> nn.Module:
        if a.type == "max":
            return nn.MaxPool2d(a.kernel, a.stride, a.padding, ceil_mode=a.ceil)
        return nn.AvgPool2d(a.kernel, a.stride, a.padding, ceil_mode=a.ceil, count_include_pad=False)


@register("gap", out_shape=lambda a, s: (s[0], 1, 1), doc="Global average pooling to 1x1.")
@dataclass(frozen=True, kw_only=True)
class GlobalPool:
    @staticmethod
    def build(a: "GlobalPool", in_shape: Shape) -> nn.Module:
        return nn.AdaptiveAvgPool2d(1)


class _Linear(nn.Module):
    """Flatten then Linear; kept as 4-D in/out (N, C, 1, 1) so blocks chain uniformly."""

    def __init__(self, cin: int, cout: int, act: str):
        super().__init__()
        from nas.ops.common import activation
        self.fc = nn.Linear(cin, cout)
        self.act = activation(act, cout)

    def forward(self, x):
        return self.act(self.fc(x.flatten(1)))[:, :, None, None]


def _fc_shape(a: "Linear", in_shape: Shape) -> Shape:
    return (a.out, 1, 1)


@register("fc", out_shape=_fc_shape, doc="Fully connected layer on the flattened input (the "
          "classifier). Tokens: c out features, a activation (default none).")
@dataclass(frozen=True, kw_only=True)
class Linear:
    out: int = tok("c")
    act: str = tok("a", "none", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)

    @staticmethod
    def build(a: "Linear", in_shape: Shape) -> nn.Module:
        c, h, w = in_shape
        return _Linear(c * h * w, a.out, a.act)


def _skip_shape(a: "Skip", in_shape: Shape) -> Shape:
    return (a.out, *_spatial(in_shape, 1, a.stride, 0))


@register("skip", out_shape=_skip_shape, searchable_skip=True,
          doc="FBNet's 'skip' candidate: identity when shapes match, else a strided 1x1 conv + BN "
              "+ ReLU that matches them (as FBNet's supernet does). Tokens: c, s.")
@dataclass(frozen=True, kw_only=True)
class Skip:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))

    @staticmethod
    def build(a: "Skip", in_shape: Shape) -> nn.Module:
        if a.stride == 1 and in_shape[0] == a.out:
            return nn.Identity()
        return ConvBNAct(in_shape[0], a.out, 1, a.stride)


@register("se", out_shape=lambda a, s: s, doc="Squeeze-and-excite on its own (Hu et al. 2018). "
          "Tokens: se ratio of the input channels, sd rounding divisor (1 = truncate), sa inner "
          "activation, sg gate.")
@dataclass(frozen=True, kw_only=True)
@se_fields(after=None, ratio=0.25, mid_token=False, act="relu")
class SqueezeExciteBlock:
    @staticmethod
    def build(a: "SqueezeExciteBlock", in_shape: Shape) -> nn.Module:
        return block_se(a, in_shape[0], in_shape[0], a.se_act)
