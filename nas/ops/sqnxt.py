"""SqueezeNext block (Gholami et al. 2018, arXiv:1803.10615), as the official Caffe models.

Two-stage 1x1 reduction (to c/2, then c/4), a 3x1 and a 1x3 convolution (to c/2),
a 1x1 expansion to c, a residual add and a ReLU after the add; every conv is
conv + BN + ReLU (the Caffe models also apply ReLU before the add). When the
shape changes (stride or width), the shortcut needs a 1x1 conv:

* default (``1.0-SqNxt-23/train_val.prototxt``): a separate strided 1x1 shortcut
  conv to c, and the first reduction reads the block input;
* ``pe`` (``2.0-SqNxt-23v5``): one strided 1x1 "entry" conv to c whose output
  feeds both the bottleneck and the shortcut; the v5 model puts one at the start
  of every section, even the first, where the shape does not change.

The Caffe files alternate 3x1/1x3 order between some blocks; this block always
runs 3x1 then 1x3 (same parameters and MACs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct, activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, conv_shape, register, tok


class SqnxtModule(nn.Module):
    def __init__(self, a: "Sqnxt", cin: int):
        super().__init__()
        c, act = a.out, a.act
        change = a.stride != 1 or cin != c
        self.entry = ConvBNAct(cin, c, 1, a.stride, act=act) if a.entry else None
        self.shortcut = ConvBNAct(cin, c, 1, a.stride, act=act) if change and not a.entry else None
        first_in, first_stride = (c, 1) if self.entry is not None else (cin, a.stride)
        self.body = nn.Sequential(
            ConvBNAct(first_in, c // 2, 1, first_stride, act=act),
            ConvBNAct(c // 2, c // 4, 1, act=act),
            ConvBNAct(c // 4, c // 2, (3, 1), padding=(1, 0), act=act),
            ConvBNAct(c // 2, c // 2, (1, 3), padding=(0, 1), act=act),
            ConvBNAct(c // 2, c, 1, act=act))
        self.act = activation(act, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.entry is not None:
            x = self.entry(x)
            return self.act(x + self.body(x))
        short = x if self.shortcut is None else self.shortcut(x)
        return self.act(short + self.body(x))


def _sqnxt_shape(a: "Sqnxt", in_shape: Shape) -> Shape:
    return conv_shape(a.out, in_shape, 1, a.stride, 0)


@register("sqnxt", out_shape=_sqnxt_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: c out "
          "(a multiple of 4), s stride, pe (an entry conv shared by both paths, the v5 models), a activation.")
@dataclass(frozen=True, kw_only=True)
class Sqnxt:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    entry: bool = tok("pe", False)
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        if self.out % 4:
            raise SpecError(f"SqueezeNext output channels must be a multiple of 4, got {self.out}",
                            field="c")

    @staticmethod
    def build(a: "Sqnxt", in_shape: Shape) -> nn.Module:
        return SqnxtModule(a, in_shape[0])
