"""CondenseNet dense layer, bnact and condensed classifier."""

import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY
from nas.ops.condense import kept_channels


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_dense_layer_shape_roundtrip_and_concat():
    b, m = _build("cn_gr8_g4", (16, 14, 14))
    assert format_block(b) == "cn_gr8_g4" and parse_block("cn_gr8_g4") == b
    x = torch.randn(1, 16, 14, 14)
    y = m(x)
    assert y.shape[1:] == block_out_shape(b, (16, 14, 14)) == (24, 14, 14)
    assert torch.equal(y[:, :16], x)  # dense connectivity: the input passes through


def test_kept_channels_have_the_condensed_size():
    assert sorted(kept_channels(16, 4, 4)) == list(range(16))  # C = G: a permutation
    idx = kept_channels(32, 4, 8)  # C = 8 > G = 4: each group keeps 32 / 8 = 4 channels
    assert len(idx) == 16 and len(set(idx)) == 16
    _, m = _build("cn_gr8_g4_cf8", (32, 7, 7))
    assert m.conv1[2].in_channels == 16 and m.conv1[2].groups == 4


def test_bnact_and_cfc():
    b, m = _build("bnact", (8, 3, 3))
    assert m(torch.randn(1, 8, 3, 3)).min() >= 0 and block_out_shape(b, (8, 3, 3)) == (8, 3, 3)
    b, m = _build("cfc_c10_dr0.5", (64, 1, 1))
    assert format_block(b) == "cfc_c10_dr0.5"
    assert m(torch.randn(2, 64, 1, 1)).shape == (2, 10, 1, 1) and m.fc.in_features == 32
