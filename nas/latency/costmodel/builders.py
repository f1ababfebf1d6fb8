"""NetSpecs for published timings of models that are not zoo entries.

* MobileNet v2 at other widths and input sizes (chernykh_zoo rows): built from
  the zoo's ``mobilenet_v2`` description, channels scaled as the Keras
  reference does (``keras.applications.mobilenet_v2``: stem
  ``make_divisible(32 * w, 8)``, block outputs ``make_divisible(int(c * w), 8)``,
  the 1280-channel head scaled only when w > 1).
* VGG 11/13/16/19 (Simonyan & Zisserman 2015, torchvision ``vgg.py`` configs):
  3x3 convs + ReLU, 2x2 max pools, three FC layers. BN variants fold BN into
  the convs at inference, so they share the plain network's atoms.
"""

from __future__ import annotations

import re

from nas.arch.spec import BlockSpec, NetSpec
from nas.ops.common import make_divisible

_VGG = {11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
        13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
        16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
        19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512,
             "M")}


def mobilenet_v2(width: float, input_size: int) -> NetSpec:
    """MobileNet v2 at ``width`` and ``input_size`` from the zoo's description."""
    from nas import zoo
    base = zoo.get("mobilenet_v2").spec
    convs = [b for b in base.blocks if b.type == "conv"]
    stem, head = convs[0], convs[-1]
    stages = []
    for stage in base.stages:
        blocks = []
        for b in stage:
            if b is stem:
                b = b.with_args(out=make_divisible(b.args.out * width, 8))
            elif b is head:
                if width > 1.0:
                    b = b.with_args(out=make_divisible(b.args.out * width, 8))
            elif hasattr(b.args, "out") and b.type != "fc":
                b = b.with_args(out=make_divisible(int(b.args.out * width), 8))
            blocks.append(b)
        stages.append(tuple(blocks))
    name = f"mobilenet_v2_{width:g}_{input_size}"
    return NetSpec(name, (input_size, input_size), tuple(stages), base.in_channels)


def vgg(depth: int, input_size: int = 224) -> NetSpec:
    from nas.ops import REGISTRY
    pool = BlockSpec("pool", REGISTRY.get("pool").args(type="max", kernel=2, stride=2))
    blocks = []
    for v in _VGG[depth]:
        if v == "M":
            blocks.append(pool)
        else:
            blocks.append(BlockSpec.make("conv", out=v, kernel=3, stride=1, nobn=True))
    head = (BlockSpec.make("fc", out=4096, act="relu"), BlockSpec.make("fc", out=4096, act="relu"),
            BlockSpec.make("fc", out=1000))
    return NetSpec(f"vgg{depth}", (input_size, input_size), (tuple(blocks), head))


def public_spec(model: str, width, input_size) -> NetSpec | None:
    """A NetSpec for a public-data row, or None when this project cannot build that model."""
    if model == "mobilenet_v2" and width and input_size:
        return mobilenet_v2(float(width), int(input_size))
    m = re.fullmatch(r"vgg(11|13|16|19)(_bn)?", model)
    if m and input_size:
        return vgg(int(m.group(1)), int(input_size))
    return None
