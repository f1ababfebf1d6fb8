"""CondenseNet pieces in their inference-time form (Huang et al. 2018, arXiv:1711.09224).

``cn`` is one dense layer after condensing: gather the input channels each group
kept (index_select), BN + ReLU, group 1x1 conv to ``b * gr`` channels, channel
shuffle, BN + ReLU, group 3x3 conv to ``gr`` channels, then concatenate with the
input (so it outputs c_in + gr). Training learns which ``c_in / cf`` input
channels each of the ``g`` groups keeps; a description has no trained weights,
so group j keeps the fixed channels ``(j + g*i) mod c_in`` for i < c_in / cf --
the right count per group (with cf = g every channel is kept exactly once, a
permutation, as the trained models' indices mostly are). Costs and ops match the
converted model (ShichenLiu/CondenseNet ``convert_model``, osmr/imgclsmob
condensenet). The transition is a plain 2x2 average pool (``pool_tavg_k2_s2``).

``bnact`` is BN + activation alone (CondenseNet's, and pre-activation nets', final
norm). ``cfc`` is the condensed classifier: gather a fixed ``1 - dr`` share of the
input features (every k-th), then a fully connected layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ChannelShuffle, activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, register, tok


def kept_channels(cin: int, groups: int, condense: int) -> list[int]:
    """Input channels each group keeps, group after group (the fixed stand-in for learned ones)."""
    per = cin // condense
    return [(j + groups * i) % cin for j in range(groups) for i in range(per)]


class DenseLayer(nn.Module):
    def __init__(self, a: "CondenseLayer", in_shape: Shape):
        super().__init__()
        cin, h, w = in_shape
        g = a.groups
        idx = kept_channels(cin, g, a.condense_factor())
        mid = a.bottleneck * a.growth
        self.register_buffer("index", torch.tensor(idx, dtype=torch.long))
        self.conv1 = nn.Sequential(nn.BatchNorm2d(len(idx)), nn.ReLU(inplace=True),
                                   nn.Conv2d(len(idx), mid, 1, groups=g, bias=False),
                                   ChannelShuffle(mid, g, h, w))
        self.conv2 = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                                   nn.Conv2d(mid, a.growth, 3, padding=1, groups=g, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(torch.index_select(x, 1, self.index)))
        return torch.cat([x, y], dim=1)


def _cn_shape(a: "CondenseLayer", in_shape: Shape) -> Shape:
    cin, h, w = in_shape
    cf, g = a.condense_factor(), a.groups
    mid = a.bottleneck * a.growth
    if cin < cf or mid % g or a.growth % g:
        raise SpecError(f"CondenseNet layer: input {cin} needs >= cf {cf} channels and groups {g} "
                        f"must divide {mid} and {a.growth}", field="g")
    return (cin + a.growth, h, w)


@register("cn", out_shape=_cn_shape, doc="CondenseNet dense layer, inference form (Huang et al. "
          "2018). Tokens: gr growth (output = input + gr), g groups, b bottleneck factor (mid = b*gr), "
          "cf condense factor (each group keeps input/cf channels; 0 = g).")
@dataclass(frozen=True, kw_only=True)
class CondenseLayer:
    growth: int = tok("gr", always=True)
    groups: int = tok("g", 4, always=True)
    bottleneck: int = tok("b", 4)
    condense: int = tok("cf", 0)

    def __post_init__(self):
        check_positive("gr", self.growth)
        check_positive("g", self.groups)
        check_positive("b", self.bottleneck)
        if self.condense < 0:
            raise SpecError(f"condense factor must be >= 0, got {self.condense}", field="cf")

    def condense_factor(self) -> int:
        return self.condense or self.groups

    @staticmethod
    def build(a: "CondenseLayer", in_shape: Shape) -> nn.Module:
        return DenseLayer(a, in_shape)


@register("bnact", out_shape=lambda a, s: s, doc="BatchNorm + activation on their own (the final "
          "norm of pre-activation nets such as CondenseNet). Tokens: a activation.")
@dataclass(frozen=True, kw_only=True)
class BNAct:
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    @staticmethod
    def build(a: "BNAct", in_shape: Shape) -> nn.Module:
        return nn.Sequential(nn.BatchNorm2d(in_shape[0]), activation(a.act, in_shape[0]))


class CondensedLinear(nn.Module):
    def __init__(self, cin: int, cout: int, keep: int):
        super().__init__()
        self.register_buffer("index", torch.tensor([i * cin // keep for i in range(keep)], dtype=torch.long))
        self.fc = nn.Linear(keep, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.index_select(x, 1, self.index).flatten(1))[:, :, None, None]


def _cfc_shape(a: "CondensedFC", in_shape: Shape) -> Shape:
    if in_shape[1:] != (1, 1):
        raise SpecError(f"cfc needs a pooled (C, 1, 1) input, got {in_shape}", field="type")
    if a.kept(in_shape[0]) < 1:
        raise SpecError(f"drop rate {a.drop} keeps no feature of {in_shape[0]}", field="dr")
    return (a.out, 1, 1)


@register("cfc", out_shape=_cfc_shape, doc="CondenseNet's condensed classifier: gather a fixed "
          "1 - dr share of the pooled features, then fully connected. Tokens: c out, dr drop rate.")
@dataclass(frozen=True, kw_only=True)
class CondensedFC:
    out: int = tok("c")
    drop: float = tok("dr", 0.5, always=True)

    def __post_init__(self):
        check_positive("c", self.out)
        if not 0 <= self.drop < 1:
            raise SpecError(f"drop rate must be in [0, 1), got {self.drop}", field="dr")

    def kept(self, cin: int) -> int:
        return int(cin * (1 - self.drop) + 1e-9)

    @staticmethod
    def build(a: "CondensedFC", in_shape: Shape) -> nn.Module:
        return CondensedLinear(in_shape[0], a.out, a.kept(in_shape[0]))
