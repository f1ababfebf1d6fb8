"""Ghost module and Ghost bottleneck (GhostNet, Han et al. 2020, arXiv:1911.11907).

A Ghost module makes ``ceil(out / 2)`` "intrinsic" maps with a primary 1x1 conv,
derives as many cheap "ghost" maps from them with a depthwise 3x3 conv, and
concatenates both (sliced to ``out`` when ``out`` is odd). A Ghost bottleneck is
ghost expansion (ReLU) -> depthwise kxk at stride 2 (only when strided) -> optional
SE -> linear ghost projection, plus an identity shortcut or, when shapes change, a
depthwise kxk + BN + 1x1 conv + BN shortcut. Layer order and rounding follow
huawei-noah/ghostnet ``ghostnet.py``. Slice sizes are constants, never read from
``x.shape``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import make_divisible, ConvBNAct
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, kernel_stride_shape, register, tok
from nas.ops.se import block_se, se_fields

GHOST_RATIO = 2      # intrinsic : total maps (GhostNet uses s = 2 throughout)
GHOST_DW_KERNEL = 3  # kernel of the cheap depthwise operation (d = 3 in the paper)


class GhostModule(nn.Module):
    """Primary conv to ``ceil(out/ratio)`` maps + depthwise "ghost" maps, concatenated."""

    def __init__(self, cin: int, out: int, kernel: int = 1, stride: int = 1, act: str = "relu",
                 ratio: int = GHOST_RATIO, dw_kernel: int = GHOST_DW_KERNEL):
        super().__init__()
        init = math.ceil(out / ratio)
        cheap = init * (ratio - 1)
        self.out = out
        self.slice = init + cheap != out   # constant: slice only when the concat overshoots
        self.primary = ConvBNAct(cin, init, kernel, stride, act=act)
        self.cheap = ConvBNAct(init, cheap, dw_kernel, 1, groups=init, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.primary(x)
        y = torch.cat([a, self.cheap(a)], dim=1)
        return y[:, :self.out] if self.slice else y


@register("ghost", out_shape=kernel_stride_shape, doc="Ghost module (Han et al. 2020): primary kxk conv "
          "to ceil(c/2) maps + depthwise 3x3 ghost maps, concatenated to c. Tokens: c out, k primary "
          "kernel, s stride, a activation (none = linear).")
@dataclass(frozen=True, kw_only=True)
class Ghost:
    kernel: int = tok("k", 1, always=True)
    stride: int = tok("s", 1, always=True)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("k", self.kernel)
        check_positive("s", self.stride, (1, 2))

    @staticmethod
    def build(a: "Ghost", in_shape: Shape) -> nn.Module:
        return GhostModule(in_shape[0], a.out, a.kernel, a.stride, a.act)


class GhostBottleneckModule(nn.Module):
    def __init__(self, a: "GhostBottleneck", in_shape: Shape):
        super().__init__()
        cin = in_shape[0]
        k, s, mid = a.kernel, a.stride, a.mid_channels(in_shape[0])
        layers: list[nn.Module] = [GhostModule(cin, mid, act=a.act)]
        if s > 1:
            layers += [nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid)]
        if a.se > 0:
            layers.append(block_se(a, mid, mid, a.act))   # reduced from the mid channels, as GhostNet
        layers.append(GhostModule(mid, a.out, act="none"))
        self.body = nn.Sequential(*layers)
        if s == 1 and cin == a.out:
            self.shortcut = None
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cin, k, s, k // 2, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, a.out, 1, bias=False), nn.BatchNorm2d(a.out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


@register("gb", out_shape=kernel_stride_shape, doc="Ghost bottleneck (Han et al. 2020): ghost expansion to m "
          "channels (activation a), depthwise kxk + BN when s=2, optional SE on m channels "
          "(reduce = make_divisible(m*se, sd), gate sg), linear ghost projection to c, identity or "
          "depthwise kxk + 1x1 shortcut. Tokens: k, s, m mid channels or e expansion ratio of the input (one of them), c, a, se, sd, sa, sg.")
@dataclass(frozen=True, kw_only=True)
@se_fields(after="act", mid_token=False, divisor=4, gate="hsigmoid")
class GhostBottleneck:
    kernel: int = tok("k", 3, always=True)
    stride: int = tok("s", 1, always=True)
    expand: float = tok("e", 0.0)
    mid: int = tok("m", 0)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)

    def __post_init__(self):
        check_positive("c", self.out)
        if (self.mid > 0) == (self.expand > 0):
            raise SpecError("give exactly one of m (mid channels) and e (expansion ratio)", field="m")
        check_positive("s", self.stride, (1, 2))
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise SpecError(f"kernel must be odd and positive, got {self.kernel}", field="k")

    def mid_channels(self, cin: int) -> int:
        """GhostNet's tables give mid channels (m); search spaces use a ratio of the input (e)."""
        return self.mid if self.mid > 0 else make_divisible(cin * self.expand, 4)

    @staticmethod
    def build(a: "GhostBottleneck", in_shape: Shape) -> nn.Module:
        return GhostBottleneckModule(a, in_shape)

