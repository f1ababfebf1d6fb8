"""Universal Inverted Bottleneck (MobileNetV4, Qin et al. 2024, arXiv:2404.10518, Fig. 4).

One block with two optional depthwise convolutions around an inverted bottleneck:
an optional *start* depthwise ``ks``x``ks`` on the input channels (BN, no
activation), a 1x1 expansion to ``e`` x input channels (BN + activation), an
optional *middle* depthwise ``km``x``km`` on the expanded channels (BN +
activation), and a linear 1x1 projection (BN); a residual when the stride is 1
and the channels match. The stride sits on the middle depthwise when there is
one, else on the start depthwise. The four instances the paper names:

* ExtraDW: ``ks`` and ``km`` both given (``uib_ks5_km5``);
* IB (MobileNetV2's inverted residual): ``km`` only (``uib_ks0_km3``);
* ConvNext-like: ``ks`` only (``uib_ks3_km0``);
* FFN: neither (``uib_ks0_km0``): two 1x1 convs.

The expanded width is ``make_divisible(cin * e, 8)``, as the paper's reference
(tensorflow/models ``official/vision/modeling/layers/nn_blocks.py``
``UniversalInvertedBottleneckBlock``) rounds it. No layer scale: the paper's
convolutional models (MNv4-Conv-S/M/L) do not use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nas.errors import SpecError
from nas.ops.common import ConvBNAct, ResidualBlock, make_divisible
from nas.ops.registry import ACTIVATIONS, Shape, check_positive, conv_out, register, tok


class UIBModule(ResidualBlock):
    def __init__(self, a: "UniversalInvertedBottleneck", in_shape: Shape):
        cin = in_shape[0]
        mid = a.mid_channels(cin)
        layers: list[nn.Module] = []
        if a.start_kernel:
            layers.append(ConvBNAct(cin, cin, a.start_kernel, a.start_stride, groups=cin, act="none"))
        layers.append(ConvBNAct(cin, mid, 1, act=a.act))
        if a.mid_kernel:
            layers.append(ConvBNAct(mid, mid, a.mid_kernel, a.stride, groups=mid, act=a.act))
        layers.append(ConvBNAct(mid, a.out, 1, act="none"))
        super().__init__(nn.Sequential(*layers), a.stride == 1 and cin == a.out and not a.noskip)


def _shape(a: "UniversalInvertedBottleneck", in_shape: Shape) -> Shape:
    _, h, w = in_shape
    if a.start_kernel:
        h, w = conv_out(h, a.start_kernel, a.start_stride), conv_out(w, a.start_kernel, a.start_stride)
    if a.mid_kernel:
        h, w = conv_out(h, a.mid_kernel, a.stride), conv_out(w, a.mid_kernel, a.stride)
    return (a.out, h, w)


@register("uib", out_shape=_shape, doc=__doc__.strip().splitlines()[0] + " Tokens: c out, s stride, "
          "ks start depthwise kernel (0 = none), km middle depthwise kernel (0 = none), e expansion, "
          "a activation, noskip.")
@dataclass(frozen=True, kw_only=True)
class UniversalInvertedBottleneck:
    start_kernel: int = tok("ks", 0, always=True)
    mid_kernel: int = tok("km", 3, always=True)
    stride: int = tok("s", 1, always=True)
    expand: float = tok("e", 4.0, always=True)
    out: int = tok("c")
    act: str = tok("a", "relu", choices=ACTIVATIONS)
    noskip: bool = tok("noskip", False)

    def __post_init__(self):
        check_positive("c", self.out)
        check_positive("s", self.stride, (1, 2))
        for name, k in (("ks", self.start_kernel), ("km", self.mid_kernel)):
            if k < 0 or (k and k % 2 == 0):   # the upper bound: nas.arch.spec (MAX_KERNEL)
                raise SpecError(f"{name} must be 0 (none) or an odd kernel, got {k}", field=name)
        if self.stride > 1 and not (self.start_kernel or self.mid_kernel):
            raise SpecError("a strided uib needs a depthwise conv to carry the stride (ks or km)", field="s")
        if self.expand <= 0:
            raise SpecError(f"expansion must be positive, got {self.expand}", field="e")

    @property
    def start_stride(self) -> int:
        """The start depthwise carries the stride only when there is no middle one."""
        return 1 if self.mid_kernel else self.stride

    def mid_channels(self, cin: int) -> int:
        return make_divisible(cin * self.expand, 8)

    @staticmethod
    def build(a: "UniversalInvertedBottleneck", in_shape: Shape) -> nn.Module:
        return UIBModule(a, in_shape)
