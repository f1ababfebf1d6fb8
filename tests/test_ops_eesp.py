"""ESPNetv2 EESP unit: shapes, DSL, hierarchical fusion, downsampling concat."""

import pytest
import torch
import torch.nn.functional as F

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.errors import SpecError
from nas.ops import REGISTRY


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_shapes_and_roundtrip():
    for text, shape, out in (("eesp_s1_c64_dl1.2.3.4", (64, 14, 14), (64, 14, 14)),
                             ("eesp_s2_c128_dl1.1.2.3", (64, 14, 14), (128, 7, 7))):
        b, m = _build(text, shape)
        assert format_block(b) == text and parse_block(text) == b
        assert m(torch.randn(1, *shape)).shape[1:] == block_out_shape(b, shape) == out


def test_hierarchical_feature_fusion_accumulates_branches():
    _, m = _build("eesp_s1_c16_dl1.2", (16, 8, 8))
    x = torch.randn(1, 16, 8, 8)
    captured = {}
    m.merge.register_forward_hook(lambda mod, inp, out: captured.setdefault("cat", inp[0]))
    with torch.no_grad():
        m(x)
        r = m.reduce(x)
        b0, b1 = m.branches[0](r), m.branches[1](r)
    assert torch.allclose(captured["cat"][:, :8], b0)
    assert torch.allclose(captured["cat"][:, 8:], b0 + b1)
    assert m.branches[1].dilation == (2, 2)


def test_stride2_concatenates_average_pooled_input():
    _, m = _build("eesp_s2_c40_dl1.2.3.4", (8, 8, 8))
    m.act.weight.data.fill_(1.0)  # PReLU slope 1: the identity, so the pooled input shows through
    x = torch.randn(1, 8, 8, 8)
    with torch.no_grad():
        assert torch.allclose(m(x)[:, :8], F.avg_pool2d(x, 3, 2, 1))
    with pytest.raises(SpecError):
        block_out_shape(parse_block("eesp_s2_c32_dl1.2.3.4"), (8, 8, 8))  # 24 = 4 x 6: 6 not /4
