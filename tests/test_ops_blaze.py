"""BlazeBlock: shapes, DSL, the pooled and channel-padded shortcut."""

import torch
import torch.nn.functional as F

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_shapes_and_roundtrip():
    for text, shape, out in (("blaze_k5_s1_c24", (24, 64, 64), (24, 64, 64)),
                             ("blaze_k5_s2_c96_m24", (48, 32, 32), (96, 16, 16))):
        b, m = _build(text, shape)
        assert format_block(b) == text and parse_block(text) == b
        assert m(torch.randn(1, *shape)).shape[1:] == block_out_shape(b, shape) == out


def test_strided_shortcut_is_max_pooled_and_zero_padded():
    _, m = _build("blaze_k5_s2_c16", (8, 8, 8))
    with torch.no_grad():
        for p in m.body.parameters():
            p.zero_()  # branch off: the output is relu(shortcut)
        x = torch.randn(1, 8, 8, 8)
        y = m(x)
    assert torch.equal(y[:, :8], torch.relu(F.max_pool2d(x, 2, 2)))
    assert torch.count_nonzero(y[:, 8:]) == 0


def test_double_block_has_projection():
    _, single = _build("blaze_k5_s1_c32", (32, 8, 8))
    _, double = _build("blaze_k5_s1_c32_m8", (32, 8, 8))
    assert len(single.body) == 2 and len(double.body) == 5
    assert double.body[1].out_channels == 8
