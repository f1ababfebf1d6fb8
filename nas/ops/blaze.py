"""BlazeFace's BlazeBlock (Bazarevsky et al. 2019, arXiv:1907.05047).

Single block: depthwise kxk (5x5, carrying the stride) then 1x1 to c. Double
block (``m`` > 0): depthwise kxk, 1x1 projection to m, ReLU, depthwise kxk, 1x1
expansion to c. The shortcut is the input, max-pooled 2x2/2 when the block is
strided and zero-padded with extra channels when c exceeds the input's; add,
then ReLU. Convs have biases and no BatchNorm, the inference form of the
MediaPipe model (hollance/BlazeFace-PyTorch). The strided depthwise conv pads
symmetrically here (TFLite pads 0/2 asymmetrically: same shapes and costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nas.errors import SpecError
from nas.ops.registry import Shape, check_positive, kernel_stride_shape, register, tok


class BlazeModule(nn.Module):
    def __init__(self, a: "Blaze", cin: int):
        super().__init__()
        k, p = a.kernel, a.kernel // 2
        if a.mid:
            self.body = nn.Sequential(
                nn.Conv2d(cin, cin, k, a.stride, p, groups=cin), nn.Conv2d(cin, a.mid, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(a.mid, a.mid, k, 1, p, groups=a.mid), nn.Conv2d(a.mid, a.out, 1))
        else:
            self.body = nn.Sequential(nn.Conv2d(cin, cin, k, a.stride, p, groups=cin),
                                      nn.Conv2d(cin, a.out, 1))
        self.pool = nn.MaxPool2d(2, 2) if a.stride == 2 else None
        self.channel_pad = a.out - cin
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.pool is not None:
            x = self.pool(x)
        if self.channel_pad:
            x = F.pad(x, (0, 0, 0, 0, 0, self.channel_pad))
        return self.act(x + y)


def _blaze_shape(a: "Blaze", in_shape: Shape) -> Shape:
    cin, h, w = in_shape
    if a.out < cin:
        raise SpecError(f"a BlazeBlock cannot shrink channels ({cin} -> {a.out}): its shortcut only "
                        f"pads", field="c")
    if a.stride == 2 and (h % 2 or w % 2):
        raise SpecError(f"a strided BlazeBlock needs an even feature map, got {h}x{w}", field="s")
    return kernel_stride_shape(a, in_shape)


@register("blaze", out_shape=_blaze_shape, doc="BlazeFace single/double BlazeBlock (Bazarevsky et al. "
          "2019). Tokens: c out, k depthwise kernel (5), s stride, m projection channels of a double "
          "block (0 = single).")
@dataclass(frozen=True, kw_only=True)
class Blaze:
    kernel: int = tok("k", 5, always=True)
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    mid: int = tok("m", 0)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise SpecError(f"kernel must be odd, got {self.kernel}", field="k")
        if self.mid < 0:
            raise SpecError(f"mid channels must be >= 0, got {self.mid}", field="m")

    @staticmethod
    def build(a: "Blaze", in_shape: Shape) -> nn.Module:
        return BlazeModule(a, in_shape[0])
