"""Torch pieces shared by blocks: conv+BN+activation, shuffle, residual (SE: ``nas.ops.se``).

Shapes are passed in as constants (the description knows them), never read from
``x.shape`` inside ``forward``: that keeps Core ML conversion static (see
shared/reference/coreml-conversion-notes.md).
"""

from __future__ import annotations

import torch
from torch import nn

from nas.errors import SpecError


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without dropping below 90 %.

    ``divisor`` 1 means plain truncation (``int(value)``), as MnasNet/EfficientNet SE use.
    """
    if divisor <= 1:
        return max(1, int(value))
    min_value = min_value or divisor
    out = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if out < 0.9 * value:
        out += divisor
    return out


def activation(name: str, channels: int = 1) -> nn.Module:
    """Activation module by name (see ``nas.ops.registry.ACTIVATIONS``)."""
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "relu6":
        return nn.ReLU6(inplace=True)
    if name == "hswish":
        return nn.Hardswish()
    if name == "swish":
        return nn.SiLU()
    if name == "hsigmoid":
        return nn.Hardsigmoid()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "prelu":
        return nn.PReLU(channels)
    if name == "leaky":
        return nn.LeakyReLU(0.1, inplace=True)
    if name == "none":
        return nn.Identity()
    raise SpecError(f"unknown activation {name!r}", field="a")


class ConvBNAct(nn.Sequential):
    """Conv2d, then BatchNorm (or a bias when ``bn`` is False), then an activation."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 dilation: int = 1, act: str = "relu", bn: bool = True, padding: int | None = None):
        if padding is None:
            padding = dilation * (kernel - 1) // 2
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation,
                                             groups=groups, bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        if act != "none":
            layers.append(activation(act, cout))
        super().__init__(*layers)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle with constant shapes (reshape, transpose, reshape)."""

    def __init__(self, channels: int, groups: int, height: int, width: int):
        super().__init__()
        if channels % groups:
            raise SpecError(f"channels {channels} not divisible by groups {groups}", field="g")
        self.dims = (channels, groups, height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, g, h, w = self.dims
        x = x.reshape(-1, g, c // g, h, w)
        return x.transpose(1, 2).reshape(-1, c, h, w)


class ResidualBlock(nn.Module):
    """``body(x)``, plus ``x`` when the block keeps its shape (MBConv, fused MBConv)."""

    def __init__(self, body: nn.Module, residual: bool):
        super().__init__()
        self.body, self.residual = body, residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y
