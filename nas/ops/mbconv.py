"""MBConv / inverted residual (MobileNet v2, MnasNet, FBNet, EfficientNet, MixNet).

1x1 expansion (grouped by ``g``, then a channel shuffle when g > 1, as FBNet's
k3_e1_g2), a depthwise kxk -- or MixConv when several kernels are given
(``k3.5.7``, Tan & Le 2019) -- optional squeeze-excite, a linear 1x1 projection
and a residual when shapes allow. MixNet groups its expansion and projection
separately and without a shuffle (``ge2``/``gp2``: the reference's ``a1.1``/``p1.1``).
References: Sandler et al. 2018 (MobileNet v2), Tan et al. 2019 (MnasNet), Wu et
al. 2019 (FBNet), Tan & Le 2019 (MixConv; tensorflow/tpu mixnet_builder.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.errors import SpecError
from nas.ops.common import ChannelShuffle, ConvBNAct, ResidualBlock, activation
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, conv_shape, register, tok
from nas.ops.se import SE_TOKENS_DOC, block_se, se_fields


def split_channels(channels: int, parts: int, mode: str) -> tuple[int, ...]:
    """MixConv channel split: ``equal`` (remainder to the first group) or ``exp`` (halving)."""
    if mode == "exp":
        sizes = [channels // 2 ** (i + 1) for i in range(parts - 1)]
        sizes.append(channels - sum(sizes))
    else:
        sizes = [channels // parts] * parts
        sizes[0] += channels - sum(sizes)
    if min(sizes) < 1:
        raise SpecError(f"cannot split {channels} channels into {parts} kernel groups", field="k")
    return tuple(sizes)


class MixConv(nn.Module):
    """Depthwise conv with one kernel size per channel group, split and concatenated."""

    def __init__(self, channels: int, kernels: tuple[int, ...], stride: int, split: str):
        super().__init__()
        self.sizes = split_channels(channels, len(kernels), split)
        self.convs = nn.ModuleList(
            nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False) for c, k in zip(self.sizes, kernels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, list(self.sizes), dim=1)
        return torch.cat([conv(p) for conv, p in zip(self.convs, parts)], dim=1)


class InvertedResidualModule(ResidualBlock):
    def __init__(self, a: "InvertedResidual", in_shape: Shape):
        cin, h, w = in_shape
        mid = a.mid_channels(cin)
        layers: list[nn.Module] = []
        if mid != cin or a.expand_always:
            layers.append(ConvBNAct(cin, mid, 1, groups=a.expand_group_count, act=a.act))
            if a.groups > 1:
                layers.append(ChannelShuffle(mid, a.groups, h, w))
        if len(a.kernel) == 1:
            layers.append(nn.Conv2d(mid, mid, a.kernel[0], a.stride, a.kernel[0] // 2, groups=mid,
                                    bias=False))
        else:
            layers.append(MixConv(mid, a.kernel, a.stride, a.split))
        layers += [nn.BatchNorm2d(mid), activation(a.act, mid)]
        if a.se > 0:
            layers.append(block_se(a, cin, mid, a.act))
        layers += [nn.Conv2d(mid, a.out, 1, groups=a.project_group_count, bias=False),
                   nn.BatchNorm2d(a.out)]
        super().__init__(nn.Sequential(*layers), a.stride == 1 and cin == a.out and not a.noskip)


def _ir_shape(a: "InvertedResidual", in_shape: Shape) -> Shape:
    cin = in_shape[0]
    mid = a.mid_channels(cin)
    if mid < 1:
        raise SpecError(f"expansion e{a.expand:g} of {cin} input channels gives {mid} mid channels; raise e "
                        f"or give m", field="e")
    ge, gp = a.expand_group_count, a.project_group_count
    expands = mid != cin or a.expand_always
    if a.expand_groups > 1 and not expands:
        raise SpecError(f"ge{a.expand_groups} given but the block has no expansion (mid = input "
                        f"= {cin} channels)", field="ge")
    for groups, field, sizes in ((ge, "ge", (cin, mid) if expands else ()), (gp, "gp", (mid, a.out))):
        if any(n % groups for n in sizes):
            raise SpecError(f"{'pointwise' if a.groups > 1 else field} groups {groups} must divide "
                            f"input {cin}, mid {mid} and output {a.out} channels",
                            field="g" if a.groups > 1 else field)
    return conv_shape(a.out, in_shape, max(a.kernel), a.stride)


@register("ir", out_shape=_ir_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: c out, "
          "s stride, k kernel(s), e expansion, m mid channels (overrides e), g pointwise groups "
          "(with a shuffle), ge/gp expansion/projection groups (no shuffle, MixNet), "
          f"a activation, {SE_TOKENS_DOC}, sp MixConv split, xa (expand even at e1), noskip.")
@dataclass(frozen=True, kw_only=True)
@se_fields(after="act")
class InvertedResidual:
    kernel: tuple[int, ...] = tok("k", (3,), always=True)
    stride: int = tok("s", 1, always=True)
    expand: float = tok("e", 1.0, always=True)
    out: int = tok("c")
    mid: int = tok("m", 0)
    groups: int = tok("g", 1)
    expand_groups: int = tok("ge", 1)
    project_groups: int = tok("gp", 1)
    act: str = tok("a", "relu", choices=ACTIVATIONS)
    split: str = tok("sp", "equal", choices=("equal", "exp"))
    expand_always: bool = tok("xa", False)
    noskip: bool = tok("noskip", False)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        check_positive("g", self.groups)
        for name, value in (("ge", self.expand_groups), ("gp", self.project_groups)):
            check_positive(name, value)
            if value > 1 and self.groups > 1:
                raise SpecError(f"{name} (groups without a shuffle) cannot be combined with g "
                                f"{self.groups} (groups with a shuffle)", field=name)
        if not self.kernel or any(k < 1 or k % 2 == 0 for k in self.kernel):
            raise SpecError(f"kernels must be odd and positive, got {self.kernel}", field="k")
        if self.expand <= 0:
            raise SpecError(f"expansion must be positive, got {self.expand}", field="e")

    @property
    def expand_group_count(self) -> int:
        return self.groups if self.groups > 1 else self.expand_groups

    @property
    def project_group_count(self) -> int:
        return self.groups if self.groups > 1 else self.project_groups

    def mid_channels(self, cin: int) -> int:
        return self.mid if self.mid > 0 else int(round(cin * self.expand))

    @staticmethod
    def build(a: "InvertedResidual", in_shape: Shape) -> nn.Module:
        return InvertedResidualModule(a, in_shape)
