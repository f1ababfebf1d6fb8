"""Darknet pieces: 'same' max pooling and the TinyYOLOv3 neck."""

import torch
import torch.nn.functional as F

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_poolsame_keeps_size_at_stride1_and_matches_inf_padding():
    b, m = _build("poolsame_k2_s1", (4, 13, 13))
    assert parse_block(format_block(b)) == b
    x = torch.randn(1, 4, 13, 13)
    y = m(x)
    assert y.shape[1:] == block_out_shape(b, (4, 13, 13)) == (4, 13, 13)
    ref = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, 1)
    assert torch.equal(y, ref)


def test_poolsame_stride2_odd_size_rounds_up():
    b, m = _build("poolsame_k2_s2", (2, 13, 13))
    assert m(torch.randn(1, 2, 13, 13)).shape[1:] == block_out_shape(b, (2, 13, 13)) == (2, 7, 7)


def test_yoloneck_outputs_both_heads_and_param_count():
    b, m = _build("yoloneck", (16, 8, 8))
    assert format_block(b) == "yoloneck"
    y = m(torch.randn(2, 16, 8, 8))
    assert y.shape == (2, *block_out_shape(b, (16, 8, 8))) == (2, 32 * 4 * 4 + 16 * 8 * 8, 1, 1)
    # convs (weights + BN): 16->32 3x3, 32->64 3x3, 64->16 1x1, 16->32 3x3, 16->8 1x1, 24->16 3x3
    convs = [(16, 32, 9), (32, 64, 9), (64, 16, 1), (16, 32, 9), (16, 8, 1), (24, 16, 9)]
    assert sum(p.numel() for p in m.parameters()) == sum(i * o * k + 2 * o for i, o, k in convs)
