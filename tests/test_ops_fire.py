"""Fire module: shapes, DSL round trip, and the expand halves it concatenates."""

import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_shape_and_roundtrip():
    b, m = _build("fire_q16_c128", (64, 28, 28))
    assert format_block(b) == "fire_q16_c128" and parse_block(format_block(b)) == b
    y = m(torch.randn(2, 64, 28, 28))
    assert y.shape == (2, 128, 28, 28) == (2, *block_out_shape(b, (64, 28, 28)))


def test_concatenates_1x1_then_3x3_expand():
    _, m = _build("fire_q8_c32", (16, 9, 9))
    x = torch.randn(1, 16, 9, 9)
    with torch.no_grad():
        s = torch.relu(m.squeeze(x))
        y = m(x)
        assert torch.allclose(y[:, :16], torch.relu(m.expand1(s)))
        assert torch.allclose(y[:, 16:], torch.relu(m.expand3(s)))
    # squeeze 16*8+8, expand1 8*16+16, expand3 8*16*9+16
    assert sum(p.numel() for p in m.parameters()) == 136 + 144 + 1168
