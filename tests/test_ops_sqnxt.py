"""SqueezeNext block: shapes, DSL round trip, shortcut forms."""

import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def _params(m):
    return sum(p.numel() for p in m.parameters())


def test_shape_and_roundtrip():
    for text in ("sqnxt_s2_c64", "sqnxt_s2_c64_pe"):
        b, m = _build(text, (32, 16, 16))
        assert format_block(b) == text and parse_block(text) == b
        assert m(torch.randn(1, 32, 16, 16)).shape[1:] == block_out_shape(b, (32, 16, 16)) == (64, 8, 8)


def test_identity_block_has_no_shortcut_conv():
    _, m = _build("sqnxt_s1_c32", (32, 8, 8))
    assert m.shortcut is None and m.entry is None
    c = 32  # 1x1 c->c/2, 1x1 c/2->c/4, 3x1 c/4->c/2, 1x3 c/2->c/2, 1x1 c/2->c; BN 2 per channel
    weights = c * c // 2 + c // 2 * c // 4 + 3 * c // 4 * c // 2 + 3 * c // 2 * c // 2 + c // 2 * c
    assert _params(m) == weights + 2 * (c // 2 + c // 4 + c // 2 + c // 2 + c)


def test_entry_conv_feeds_bottleneck_while_shortcut_reads_input():
    _, short = _build("sqnxt_s2_c64", (32, 8, 8))
    _, entry = _build("sqnxt_s2_c64_pe", (32, 8, 8))
    # same 32->64 projection either way; the first reduction reads 32 (shortcut) or 64 (entry) channels
    assert _params(entry) - _params(short) == (64 - 32) * 32
    assert short.body[0][0].in_channels == 32 and entry.body[0][0].in_channels == 64
