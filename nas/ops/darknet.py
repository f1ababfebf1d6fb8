"""Darknet pieces for TinyYOLO (Redmon & Farhadi 2017, YOLO9000; 2018, YOLOv3).

``poolsame`` is Darknet's (and TensorFlow's 'SAME') max pooling: output size
``ceil(H / s)``, padding ``k - 1``-ish placed at the bottom/right. TinyYOLO's
``maxpool size=2 stride=1`` keeps 13x13 at 13x13 this way, which no symmetric
padding does. The padding replicates the edge, which for max pooling with
padding < k equals Darknet's -inf padding.

``yoloneck`` is the part of ``yolov3-tiny.cfg`` after the stride-16 map (layer 8,
C channels): max pool, conv 2C, max pool (stride 1), conv 4C, conv 1x1 C, then the
two detection heads without their final 1x1 prediction convs: head 1 conv 3x3 2C
at stride 32; head 2 conv 1x1 C/2, 2x nearest upsample, concat with the layer-8
input (route 19 8), conv 3x3 C at stride 16. All convs are conv + BN + leaky ReLU
0.1 as in the cfg. A chain of blocks has one output, so the two head maps are
flattened and concatenated into one (N, 2C*(H/2)*(W/2) + C*H*W, 1, 1) tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, register, tok


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding for 'SAME' pooling along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePool(nn.Module):
    def __init__(self, kernel: int, stride: int, h: int, w: int):
        super().__init__()
        top, bottom = same_pads(h, kernel, stride)
        left, right = same_pads(w, kernel, stride)
        if max(top, bottom, left, right) >= kernel:
            raise SpecError(f"'same' padding {max(top, bottom, left, right)} must stay below the "
                            f"kernel {kernel}", field="k")
        self.pads = (left, right, top, bottom)
        self.pool = nn.MaxPool2d(kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pads):
            x = F.pad(x, self.pads, mode="replicate")
        return self.pool(x)


def _same_shape(a: "PoolSame", in_shape: Shape) -> Shape:
    c, h, w = in_shape
    return (c, -(-h // a.stride), -(-w // a.stride))


@register("poolsame", out_shape=_same_shape, doc="Max pooling with Darknet/TensorFlow 'SAME' "
          "padding (output ceil(H/s)). Tokens: k kernel, s stride.")
@dataclass(frozen=True, kw_only=True)
class PoolSame:
    kernel: int = tok("k", 2, always=True)
    stride: int = tok("s", 2, always=True)

    def __post_init__(self):
        check_positive("k", self.kernel)
        check_positive("s", self.stride)

    @staticmethod
    def build(a: "PoolSame", in_shape: Shape) -> nn.Module:
        return SamePool(a.kernel, a.stride, in_shape[1], in_shape[2])


class YoloNeckModule(nn.Module):
    def __init__(self, a: "YoloNeck", in_shape: Shape):
        super().__init__()
        c, h, w = in_shape
        h2, w2 = -(-h // 2), -(-w // 2)
        self.trunk = nn.Sequential(
            SamePool(2, 2, h, w), ConvBNAct(c, 2 * c, 3, act=a.act),
            SamePool(2, 1, h2, w2), ConvBNAct(2 * c, 4 * c, 3, act=a.act),
            ConvBNAct(4 * c, c, 1, act=a.act))
        self.head1 = ConvBNAct(c, 2 * c, 3, act=a.act)
        self.lateral = ConvBNAct(c, c // 2, 1, act=a.act)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head2 = ConvBNAct(c // 2 + c, c, 3, act=a.act)
        self.crop = (h, w)  # upsampling an odd map overshoots by one; crop back to the route's size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.trunk(x)
        y1 = self.head1(t)
        h, w = self.crop
        u = self.up(self.lateral(t))[:, :, :h, :w]
        y2 = self.head2(torch.cat([u, x], dim=1))
        return torch.cat([y1.flatten(1), y2.flatten(1)], dim=1)[:, :, None, None]


def _neck_shape(a: "YoloNeck", in_shape: Shape) -> Shape:
    c, h, w = in_shape
    if c % 2:
        raise SpecError(f"yoloneck needs an even number of input channels, got {c}", field="c")
    return (2 * c * (-(-h // 2)) * (-(-w // 2)) + c * h * w, 1, 1)


@register("yoloneck", out_shape=_neck_shape, doc="TinyYOLOv3's neck and two heads without the "
          "prediction convs (yolov3-tiny.cfg layers 9-21), widths from the input C; outputs the two "
          "head maps flattened and concatenated. Tokens: a activation (leaky).")
@dataclass(frozen=True, kw_only=True)
class YoloNeck:
    act: str = tok("a", "leaky", choices=ACTIVATIONS)

    @staticmethod
    def build(a: "YoloNeck", in_shape: Shape) -> nn.Module:
        return YoloNeckModule(a, in_shape)
