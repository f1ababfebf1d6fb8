"""SqueezeNet's Fire module (Iandola et al. 2016, arXiv:1602.07360).

A 1x1 "squeeze" convolution to ``q`` channels, then two parallel "expand"
convolutions, 1x1 and 3x3, each with half of the ``c`` output channels, whose
outputs are concatenated. Every convolution has a bias and a ReLU and no
BatchNorm, as in the reference (forresti/SqueezeNet, torchvision squeezenet1_1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, register, tok


class FireModule(nn.Module):
    def __init__(self, a: "Fire", cin: int):
        super().__init__()
        half = a.out // 2
        self.squeeze = nn.Conv2d(cin, a.squeeze, 1)
        self.expand1 = nn.Conv2d(a.squeeze, half, 1)
        self.expand3 = nn.Conv2d(a.squeeze, a.out - half, 3, padding=1)
        self.act_s = activation(a.act, a.squeeze)
        self.act_1 = activation(a.act, half)
        self.act_3 = activation(a.act, a.out - half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.act_s(self.squeeze(x))
        return torch.cat([self.act_1(self.expand1(s)), self.act_3(self.expand3(s))], dim=1)


def _fire_shape(a: "Fire", in_shape: Shape) -> Shape:
    return (a.out, in_shape[1], in_shape[2])


@register("fire", out_shape=_fire_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: q squeeze "
          "channels, c output channels (half 1x1, half 3x3 expand), a activation.")
@dataclass(frozen=True, kw_only=True)
class Fire:
    squeeze: int = tok("q", always=True)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("q", self.squeeze)
        check_positive("c", self.out)
        if self.out < 2:
            raise SpecError(f"a fire module needs at least 2 output channels, got {self.out}", field="c")

    @staticmethod
    def build(a: "Fire", in_shape: Shape) -> nn.Module:
        return FireModule(a, in_shape[0])
