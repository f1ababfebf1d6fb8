"""The fused-MBConv block ``er`` (EfficientNet-EdgeTPU): shapes, counts, residual rule, DSL."""

import pytest
import torch

from nas.arch import format_block, parse_block, parse_net, resolve
from nas.arch.build import build
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.features import block_features


def _module(text, in_shape):
    b = parse_block(text)
    return REGISTRY.get("er").build(b.args, in_shape), b


@pytest.mark.parametrize("text,in_shape,out_shape", [
    ("er_k3_s1_e4_c24", (24, 16, 16), (24, 16, 16)),
    ("er_k3_s2_e8_c32", (24, 16, 16), (32, 8, 8)),
    ("er_k5_s2_e8_c48", (32, 15, 15), (48, 8, 8)),
])
def test_shapes_match_the_shape_rule(text, in_shape, out_shape):
    m, b = _module(text, in_shape)
    assert REGISTRY.get("er").out_shape(b.args, in_shape) == out_shape
    y = m.eval()(torch.randn(2, *in_shape))
    assert tuple(y.shape[1:]) == out_shape


def test_params_by_hand_with_and_without_se():
    # kxk conv cin->mid, BN(mid), 1x1 mid->out, BN(out)
    m, _ = _module("er_k3_s2_e8_c32", (24, 8, 8))
    mid = 24 * 8
    assert sum(p.numel() for p in m.parameters()) == 24 * mid * 9 + 2 * mid + mid * 32 + 2 * 32
    # SE reduce from the input channels: int(24 * 0.25) = 6, both 1x1 convs with bias
    m, _ = _module("er_k3_s2_e8_c32_se0.25", (24, 8, 8))
    se = mid * 6 + 6 + 6 * mid + mid
    assert sum(p.numel() for p in m.parameters()) == 24 * mid * 9 + 2 * mid + mid * 32 + 2 * 32 + se
    f = block_features(parse_block("er_k3_s2_e8_c32_se0.25"), (24, 8, 8))
    assert f.params == sum(p.numel() for p in m.parameters())
    assert f.count("conv") == 4 and f.count("dwconv") == 0  # a dense expansion, no depthwise


def test_mid_override():
    m, b = _module("er_k3_s1_e4_c24_m96_noskip", (32, 8, 8))
    assert b.args.mid_channels(32) == 96
    assert m.body[0][0].weight.shape == (96, 32, 3, 3)


def _zero_projection(m):
    bn = m.body[-1][1]
    torch.nn.init.zeros_(bn.weight)
    torch.nn.init.zeros_(bn.bias)
    return m.eval()


@pytest.mark.parametrize("text,in_shape,residual", [
    ("er_k3_s1_e4_c24", (24, 8, 8), True),
    ("er_k3_s1_e4_c24_noskip", (24, 8, 8), False),
    ("er_k3_s2_e4_c24", (24, 8, 8), False),
    ("er_k3_s1_e4_c32", (24, 8, 8), False),
])
def test_residual_only_at_stride_1_with_matching_channels(text, in_shape, residual):
    m, _ = _module(text, in_shape)
    m = _zero_projection(m)  # the body now outputs zeros: y == x exactly when there is a residual
    x = torch.randn(1, *in_shape)
    with torch.no_grad():
        y = m(x)
    assert m.residual is residual
    if residual:
        assert torch.equal(y, x)
    else:
        assert torch.count_nonzero(y) == 0
    assert (block_features(parse_block(text), in_shape).count("add") == 1) is residual


def test_dsl_roundtrip_and_canonical_order():
    b = parse_block("er_noskip_c24_m96_e4_k3_s1_aswish_se0.25")
    assert format_block(b) == "er_k3_s1_e4_c24_m96_aswish_se0.25_noskip"
    assert parse_block(format_block(b)) == b
    r = parse_block("er_r2_k5_s2_e8_c48")
    assert r.repeats == 2 and r.args.kernel == 5 and str(r) == "er_r2_k5_s2_e8_c48"


def test_tokens_mean_what_they_mean_in_ir():
    er, ir = REGISTRY.get("er"), REGISTRY.get("ir")
    for t in er.tokens:
        other = ir.token(t.key)
        assert other is not None and other.field == t.field, t.key


@pytest.mark.parametrize("text,field", [
    ("er_k4_s1_e4_c24", "k"),
    ("er_k3_s3_e4_c24", "s"),
    ("er_k3_s1_e4", "c"),
    ("er_k3_s1_e4_c24_se2", "se"),
    ("er_k3_s1_e4_c24_g2", "g2"),
])
def test_bad_strings_name_the_field(text, field):
    with pytest.raises(SpecError) as e:
        parse_block(text)
    assert e.value.field == field


def test_in_a_network_repeats_keep_stride_on_first_only():
    net = parse_net("32:conv_k3_s2_c16|er_r2_k3_s2_e4_c24|gap,fc_c10")
    layers = resolve(net)
    assert [l.key for l in layers[1:3]] == ["er_k3_s2_e4_c24@16x16x16", "er_k3_s1_e4_c24@24x8x8"]
    y = build(net).eval()(torch.randn(1, 3, 32, 32))
    assert y.shape == (1, 10)
