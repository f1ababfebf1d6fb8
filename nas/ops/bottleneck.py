"""ResNet blocks (He et al. 2016, arXiv:1512.03385; torchvision resnet.py): bottleneck v1.5 and basic.

Bottleneck: 1x1 to ``m`` + BN + ReLU, 3x3 (carrying the stride: the "v1.5"
placement) + BN + ReLU, 1x1 to ``c`` + BN. Basic (ResNet-18/34): 3x3 (stride) + BN
+ ReLU, 3x3 + BN. Both: the shortcut is the identity, or a strided 1x1 conv + BN
(projection) when the stride or width changes; add, then ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.ops.common import ConvBNAct, activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, conv_shape, register, tok


class BottleneckModule(nn.Module):
    """Either ResNet block: ``body`` (the block's own convs) plus the shared shortcut, add and activation."""

    def __init__(self, a, cin: int, body: nn.Module):
        super().__init__()
        self.body = body
        project = a.stride != 1 or cin != a.out
        self.shortcut = ConvBNAct(cin, a.out, 1, a.stride, act="none") if project else None
        self.act = activation(a.act, a.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = x if self.shortcut is None else self.shortcut(x)
        return self.act(short + self.body(x))


def _shape(a, in_shape: Shape) -> Shape:
    return conv_shape(a.out, in_shape, 3, a.stride)


@register("bottleneck", out_shape=_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: c out, "
          "m mid (bottleneck) channels, s stride, a activation.")
@dataclass(frozen=True, kw_only=True)
class Bottleneck:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    mid: int = tok("m", always=True)
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("m", self.mid)
        check_positive("s", self.stride, (1, 2))

    @staticmethod
    def build(a: "Bottleneck", in_shape: Shape) -> nn.Module:
        cin = in_shape[0]
        return BottleneckModule(a, cin, nn.Sequential(ConvBNAct(cin, a.mid, 1, act=a.act),
                                                      ConvBNAct(a.mid, a.mid, 3, a.stride, act=a.act),
                                                      ConvBNAct(a.mid, a.out, 1, act="none")))


@register("basic", out_shape=_shape, doc="ResNet basic block (ResNet-18/34): 3x3 + BN + ReLU, 3x3 + BN, "
          "identity or projection shortcut, add, ReLU. Tokens: c out, s stride, a activation.")
@dataclass(frozen=True, kw_only=True)
class Basic:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))

    @staticmethod
    def build(a: "Basic", in_shape: Shape) -> nn.Module:
        cin = in_shape[0]
        return BottleneckModule(a, cin, nn.Sequential(ConvBNAct(cin, a.out, 3, a.stride, act=a.act),
                                                      ConvBNAct(a.out, a.out, 3, act="none")))
