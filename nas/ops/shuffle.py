"""ShuffleNet units: v1 (Zhang et al. 2018, arXiv:1707.01083) and v2 (Ma et al. 2018, arXiv:1807.11164).

``shuffle`` (v1): grouped 1x1 to c/4 + BN + ReLU, channel shuffle, depthwise 3x3 + BN,
grouped 1x1 + BN; stride 1 adds the input and applies ReLU; stride 2 concatenates
a 3x3/2 average-pooled shortcut with the branch (which then makes c - c_in
channels) and applies ReLU. ``ug`` makes the first 1x1 ungrouped (the paper's
first unit of stage 2, whose input has only 24 channels). As
megvii-model/ShuffleNet-Series ShuffleNetV1.

``splitshuffle`` (v2): stride 1 splits the channels in half, runs 1x1 + BN + ReLU, depthwise
kxk + BN, 1x1 + BN + ReLU on one half, concatenates it with the untouched half and
shuffles with 2 groups; stride 2 has no split: two branches (depthwise kxk/2 + BN,
1x1 + BN + ReLU; and the stride-1 branch with a strided depthwise) each make c/2
channels, concatenated and shuffled. As torchvision shufflenet_v2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ChannelShuffle, ConvBNAct
from nas.ops.registry import Shape, check_positive, conv_out, conv_shape, kernel_stride_shape, register, tok


class ShuffleV1Module(nn.Module):
    def __init__(self, a: "ShuffleV1", in_shape: Shape):
        super().__init__()
        cin, h, w = in_shape
        mid = a.out // 4
        branch_out = a.out - cin if a.stride == 2 else a.out
        g1 = 1 if a.ungrouped else a.groups
        layers: list[nn.Module] = [ConvBNAct(cin, mid, 1, groups=g1)]
        if a.groups > 1:
            layers.append(ChannelShuffle(mid, a.groups, h, w))
        layers += [ConvBNAct(mid, mid, 3, a.stride, groups=mid, act="none"),
                   ConvBNAct(mid, branch_out, 1, groups=a.groups, act="none")]
        self.branch = nn.Sequential(*layers)
        self.pool = nn.AvgPool2d(3, 2, 1) if a.stride == 2 else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.branch(x)
        if self.pool is None:
            return self.act(x + y)
        return self.act(torch.cat([self.pool(x), y], dim=1))


def _v1_shape(a: "ShuffleV1", in_shape: Shape) -> Shape:
    cin = in_shape[0]
    mid = a.out // 4
    branch_out = a.out - cin if a.stride == 2 else a.out
    g1 = 1 if a.ungrouped else a.groups
    if branch_out < 1 or a.stride == 1 and cin != a.out:
        raise SpecError(f"a stride-{a.stride} ShuffleNet v1 unit cannot map {cin} to {a.out} channels",
                        field="c")
    if mid % a.groups or branch_out % a.groups or cin % g1:
        raise SpecError(f"groups {a.groups} must divide the mid ({mid}) and branch ({branch_out}) "
                        f"channels and the input ({cin}) unless ug is set", field="g")
    return conv_shape(a.out, in_shape, 3, a.stride)


@register("shuffle", out_shape=_v1_shape, doc="ShuffleNet v1 unit (Zhang et al. 2018). Tokens: c "
          "out, s stride, g groups of the 1x1 convs, ug (ungrouped first 1x1).")
@dataclass(frozen=True, kw_only=True)
class ShuffleV1:
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    groups: int = tok("g", 1, always=True)
    ungrouped: bool = tok("ug", False)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        check_positive("g", self.groups)

    @staticmethod
    def build(a: "ShuffleV1", in_shape: Shape) -> nn.Module:
        return ShuffleV1Module(a, in_shape)


class ShuffleV2Module(nn.Module):
    def __init__(self, a: "ShuffleV2", in_shape: Shape):
        super().__init__()
        cin, h, w = in_shape
        half = a.out // 2
        k, s = a.kernel, a.stride
        ho, wo = conv_out(h, k, s), conv_out(w, k, s)
        b_in = cin if s == 2 else cin // 2
        self.split = None if s == 2 else (cin // 2, cin - cin // 2)
        self.branch1 = nn.Sequential(
            ConvBNAct(cin, cin, k, s, groups=cin, act="none"),
            ConvBNAct(cin, half, 1)) if s == 2 else None
        self.branch2 = nn.Sequential(
            ConvBNAct(b_in, half, 1),
            ConvBNAct(half, half, k, s, groups=half, act="none"),
            ConvBNAct(half, half, 1))
        self.shuffle = ChannelShuffle(a.out, 2, ho, wo)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split is None:
            y = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        else:
            x1, x2 = torch.split(x, list(self.split), dim=1)
            y = torch.cat([x1, self.branch2(x2)], dim=1)
        return self.shuffle(y)


def _v2_shape(a: "ShuffleV2", in_shape: Shape) -> Shape:
    cin = in_shape[0]
    if a.stride == 1 and (cin != a.out or cin % 2):
        raise SpecError(f"a stride-1 ShuffleNet v2 unit keeps an even channel count; got {cin} -> "
                        f"{a.out}", field="c")
    return kernel_stride_shape(a, in_shape)


@register("splitshuffle", out_shape=_v2_shape, doc="ShuffleNet v2 unit (Ma et al. 2018). Tokens: c out "
          "(even), s stride, k depthwise kernel.")
@dataclass(frozen=True, kw_only=True)
class ShuffleV2:
    kernel: int = tok("k", 3, always=True)
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        if self.out % 2:
            raise SpecError(f"ShuffleNet v2 output channels must be even, got {self.out}", field="c")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise SpecError(f"kernel must be odd, got {self.kernel}", field="k")

    @staticmethod
    def build(a: "ShuffleV2", in_shape: Shape) -> nn.Module:
        return ShuffleV2Module(a, in_shape)
