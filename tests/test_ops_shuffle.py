"""ShuffleNet v1 (shuffle) and v2 (splitshuffle) units: shapes, DSL, branch behaviour."""

import pytest
import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.errors import SpecError
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


@pytest.mark.parametrize("text,shape,out", [
    ("shuffle_s2_c384_g8_ug", (24, 56, 56), (384, 28, 28)),
    ("shuffle_s1_c384_g8", (384, 28, 28), (384, 28, 28)),
    ("splitshuffle_k3_s2_c116", (24, 56, 56), (116, 28, 28)),
    ("splitshuffle_k3_s1_c116", (116, 28, 28), (116, 28, 28)),
])
def test_shapes_and_roundtrip(text, shape, out):
    b, m = _build(text, shape)
    assert format_block(b) == text and parse_block(text) == b
    assert m(torch.randn(1, *shape)).shape[1:] == block_out_shape(b, shape) == out


def test_v2_stride2_doubles_channels_with_two_branches():
    _, m = _build("splitshuffle_k3_s2_c64", (32, 8, 8))
    x = torch.randn(1, 32, 8, 8)
    with torch.no_grad():
        y = m(x)
        # shuffle with 2 groups interleaves: even channels from branch 1, odd from branch 2
        assert torch.allclose(y[:, 0::2], m.branch1(x)) and torch.allclose(y[:, 1::2], m.branch2(x))


def test_v2_stride1_passes_half_the_channels_through():
    _, m = _build("splitshuffle_k3_s1_c16", (16, 6, 6))
    x = torch.randn(1, 16, 6, 6)
    with torch.no_grad():
        assert torch.equal(m(x)[:, 0::2], x[:, :8])


def test_v1_stride2_concatenates_pooled_input():
    _, m = _build("shuffle_s2_c64_g4", (16, 8, 8))
    x = torch.randn(1, 16, 8, 8).abs()  # nonnegative: ReLU leaves the pooled shortcut unchanged
    with torch.no_grad():
        assert torch.allclose(m(x)[:, :16], torch.nn.functional.avg_pool2d(x, 3, 2, 1))
    with pytest.raises(SpecError):
        block_out_shape(parse_block("shuffle_s2_c64_g8"), (12, 8, 8))  # 12 input channels, g8
