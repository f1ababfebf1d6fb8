"""ResNet v1.5 bottleneck: shapes, DSL, projection shortcut and stride placement."""

import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_shapes_and_roundtrip():
    b, m = _build("bottleneck_s2_c512_m128", (256, 28, 28))
    assert format_block(b) == "bottleneck_s2_c512_m128" and parse_block(str(b)) == b
    assert m(torch.randn(1, 256, 28, 28)).shape[1:] == block_out_shape(b, (256, 28, 28)) == (512, 14, 14)


def test_projection_only_when_shape_changes_and_stride_on_3x3():
    _, same = _build("bottleneck_s1_c64_m16", (64, 8, 8))
    _, proj = _build("bottleneck_s2_c64_m16", (64, 8, 8))
    assert same.shortcut is None and proj.shortcut is not None
    assert proj.body[0][0].stride == (1, 1) and proj.body[1][0].stride == (2, 2)
    x = torch.randn(1, 64, 8, 8).abs()
    with torch.no_grad():
        for p in same.body[2][1].parameters():
            p.zero_()  # last BN to zero: the block reduces to relu(x)
        assert torch.equal(same(x), x)
