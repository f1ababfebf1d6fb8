"""Fused MBConv / edge residual (EfficientNet-EdgeTPU).

A full kxk convolution expands the input (BN, activation), optional
squeeze-excite follows, then a linear 1x1 projection (BN) and a residual when
the stride is 1 and channels match. It replaces MBConv's 1x1 expansion plus
depthwise kxk where a dense conv runs faster on an accelerator. References:
Gupta & Tan 2019, EfficientNet-EdgeTPU (Google AI blog); tensorflow/tpu
models/official/efficientnet (``MBConvBlockWithoutDepthwise``, conv_type 1);
timm ``EdgeResidual``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct, ResidualBlock
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, kernel_stride_shape, register, tok
from nas.ops.se import SE_TOKENS_DOC, block_se, se_fields


class EdgeResidualModule(ResidualBlock):
    def __init__(self, a: "EdgeResidual", in_shape: Shape):
        cin = in_shape[0]
        mid = a.mid_channels(cin)
        layers: list[nn.Module] = [ConvBNAct(cin, mid, a.kernel, a.stride, act=a.act)]
        if a.se > 0:
            layers.append(block_se(a, cin, mid, a.act))
        layers.append(ConvBNAct(mid, a.out, 1, act="none"))
        super().__init__(nn.Sequential(*layers), a.stride == 1 and cin == a.out and not a.noskip)


@register("er", out_shape=kernel_stride_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: c out, "
          f"s stride, k kernel, e expansion, m mid channels (overrides e), a activation, {SE_TOKENS_DOC}, "
          "noskip.")
@dataclass(frozen=True, kw_only=True)
@se_fields(after="act")
class EdgeResidual:
    kernel: int = tok("k", 3, always=True)
    stride: int = tok("s", 1, always=True)
    expand: float = tok("e", 1.0, always=True)
    out: int = tok("c")
    mid: int = tok("m", 0)
    act: str = tok("a", "relu", choices=ACTIVATIONS)
    noskip: bool = tok("noskip", False)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise SpecError(f"kernel must be odd and positive, got {self.kernel}", field="k")
        if self.expand <= 0:
            raise SpecError(f"expansion must be positive, got {self.expand}", field="e")
        if self.mid < 0:
            raise SpecError(f"mid channels must be positive, got {self.mid}", field="m")

    def mid_channels(self, cin: int) -> int:
        """Expanded width: ``m`` when given, else ``round(cin * e)``."""
        return self.mid if self.mid > 0 else int(round(cin * self.expand))

    @staticmethod
    def build(a: "EdgeResidual", in_shape: Shape) -> nn.Module:
        return EdgeResidualModule(a, in_shape)
