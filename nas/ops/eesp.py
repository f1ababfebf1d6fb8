"""ESPNetv2's EESP unit (Mehta et al. 2019, arXiv:1811.11431), as sacmehta/EdgeNets.

Stride 1: grouped 1x1 reduction (K groups) to c/K + BN + PReLU; K parallel
depthwise 3x3 convs with dilations ``dl`` (sorted ascending) on that map;
hierarchical feature fusion (branch i adds branch i-1's output); concatenation,
BN + PReLU, grouped 1x1 expansion (K groups) + BN; residual add when the shape is
unchanged; PReLU.

Stride 2 (the paper's downsampling unit): a 3x3/2 average pool of the input
concatenated with a strided EESP (dilated depthwise convs at stride 2, no
residual, no activation) that makes c - c_in channels, then PReLU. The paper's
input reinforcement -- a 3x3 + 1x1 conv on the average-pooled *input image*
added here -- is left out: a chain of blocks cannot reach the image. The
reference's three reinforcement branches hold 4,750 parameters (2.0x) and
run at 56, 28 and 14 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct
from nas.ops.registry import Shape, check_positive, conv_shape, register, tok


class EESPModule(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, dilations: tuple[int, ...], residual: bool):
        super().__init__()
        k = len(dilations)
        n = cout // k
        self.reduce = ConvBNAct(cin, n, 1, groups=k, act="prelu")
        self.branches = nn.ModuleList(
            nn.Conv2d(n, n, 3, stride, d, dilation=d, groups=n, bias=False) for d in sorted(dilations))
        self.merge = nn.Sequential(nn.BatchNorm2d(cout), nn.PReLU(cout),
                                   nn.Conv2d(cout, cout, 1, groups=k, bias=False), nn.BatchNorm2d(cout))
        self.residual = residual
        self.act = nn.PReLU(cout) if stride == 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reduce(x)
        outs = [self.branches[0](r)]
        for branch in self.branches[1:]:
            outs.append(branch(r) + outs[-1])
        y = self.merge(torch.cat(outs, dim=1))
        if self.act is None:
            return y
        return self.act(x + y if self.residual else y)


class EESPDown(nn.Module):
    def __init__(self, cin: int, cout: int, dilations: tuple[int, ...]):
        super().__init__()
        self.pool = nn.AvgPool2d(3, 2, 1)
        self.eesp = EESPModule(cin, cout - cin, 2, dilations, residual=False)
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(torch.cat([self.pool(x), self.eesp(x)], dim=1))


def _eesp_shape(a: "EESP", in_shape: Shape) -> Shape:
    cin = in_shape[0]
    k = len(a.dilations)
    made = a.out - cin if a.stride == 2 else a.out
    if made < k * k or made % (k * k):
        raise SpecError(f"EESP: the {made} channels its branches make must be a positive multiple of "
                        f"K*K = {k * k} (K branches of a K-group conv; input {cin}, output {a.out}, "
                        f"stride {a.stride})", field="c")
    if cin % k:
        raise SpecError(f"EESP: input channels {cin} must divide into K = {k} groups", field="dl")
    return conv_shape(a.out, in_shape, 3, a.stride)


@register("eesp", out_shape=_eesp_shape, doc="ESPNetv2 EESP unit; stride 2 is the downsampling "
          "unit without input reinforcement (Mehta et al. 2019). Tokens: c out, s stride, dl branch "
          "dilations (K = their count).")
@dataclass(frozen=True, kw_only=True)
class EESP:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    dilations: tuple[int, ...] = tok("dl", (1, 2, 3, 4), always=True)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        if not self.dilations or min(self.dilations) < 1:
            raise SpecError(f"dilations must be positive, got {self.dilations}", field="dl")

    @staticmethod
    def build(a: "EESP", in_shape: Shape) -> nn.Module:
        cin = in_shape[0]
        if a.stride == 2:
            return EESPDown(cin, a.out, a.dilations)
        return EESPModule(cin, a.out, 1, a.dilations, residual=cin == a.out)
