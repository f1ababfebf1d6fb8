"""Ghost module and Ghost bottleneck (Han et al. 2020): shapes, shortcuts, SE width, DSL."""

import pytest
import torch

from nas.arch import format_block, parse_block, parse_net
from nas.arch.build import build
from nas.arch.counts import count
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.features import block_features


def module(text, in_shape):
    b = parse_block(text)
    return REGISTRY.get(b.type).build(b.args, in_shape), b


@pytest.mark.parametrize("text,in_shape,out_shape", [
    ("ghost_k1_s1_c16", (8, 10, 10), (16, 10, 10)),
    ("ghost_k1_s1_c15_anone", (8, 10, 10), (15, 10, 10)),   # odd: concat of 16, sliced to 15
    ("ghost_k3_s2_c12", (8, 10, 10), (12, 5, 5)),
    ("gb_k3_s1_m48_c16", (16, 12, 12), (16, 12, 12)),
    ("gb_k5_s2_m72_c40_se0.25", (24, 16, 16), (40, 8, 8)),
    ("gb_k3_s1_m200_c80", (40, 6, 6), (80, 6, 6)),
])
def test_shapes_match_shape_rule(text, in_shape, out_shape):
    m, b = module(text, in_shape)
    assert REGISTRY.get(b.type).out_shape(b.args, in_shape) == out_shape
    with torch.no_grad():
        assert tuple(m.eval()(torch.randn(2, *in_shape)).shape) == (2, *out_shape)


def test_ghost_module_parameters():
    m, _ = module("ghost_k1_s1_c15", (8, 4, 4))
    init = 8  # ceil(15 / 2)
    expected = 8 * init + 2 * init + 9 * init + 2 * init  # primary 1x1 + BN, cheap dw3x3 + BN
    assert sum(p.numel() for p in m.parameters()) == expected
    assert m.cheap[0].groups == init and m.slice


def test_identity_shortcut_when_shapes_match():
    m, _ = module("gb_k3_s1_m48_c16", (16, 8, 8))
    assert m.shortcut is None
    for bn in [x for x in m.body[-1].modules() if isinstance(x, torch.nn.BatchNorm2d)]:
        torch.nn.init.zeros_(bn.weight)
        torch.nn.init.zeros_(bn.bias)
    x = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(m.eval()(x), x)  # zero residual branch leaves the identity


def test_projected_shortcut_when_shapes_change():
    m, _ = module("gb_k5_s2_m72_c40_se0.25", (24, 16, 16))
    dw, _, pw, _ = m.shortcut
    assert dw.kernel_size == (5, 5) and dw.stride == (2, 2) and dw.groups == 24
    assert pw.kernel_size == (1, 1) and pw.out_channels == 40
    stride_only, _ = module("gb_k3_s2_m48_c16", (16, 8, 8))   # same channels, stride 2
    assert stride_only.shortcut is not None


def test_se_width_and_gate_follow_ghostnet():
    m, _ = module("gb_k5_s1_m120_c40_se0.25", (40, 8, 8))
    se = next(x for x in m.body if hasattr(x, "reduce"))
    assert se.reduce.out_channels == 32            # make_divisible(120 * 0.25, 4)
    assert isinstance(se.gate, torch.nn.Hardsigmoid)
    m72, _ = module("gb_k5_s2_m72_c40_se0.25", (24, 8, 8))
    assert next(x for x in m72.body if hasattr(x, "reduce")).reduce.out_channels == 20
    plain, _ = module("gb_k3_s1_m48_c16", (16, 8, 8))
    assert not any(hasattr(x, "reduce") for x in plain.body)


@pytest.mark.parametrize("text", ["gb_k5_s2_m72_c40_se0.25", "gb_k3_s1_m16_c16",
                                  "gb_k3_s1_m16_c16_ahswish_sd8_sgsigmoid", "ghost_k1_s1_c16",
                                  "ghost_k3_s2_c8_anone"])
def test_dsl_roundtrip(text):
    b = parse_block(text)
    assert format_block(b) == text and parse_block(format_block(b)) == b


def test_dsl_errors_name_the_field():
    with pytest.raises(SpecError) as e:
        parse_block("gb_k3_s1_c16")          # mid channels are required
    assert e.value.field == "m"
    with pytest.raises(SpecError) as e:
        parse_block("gb_k4_s1_m16_c16")
    assert e.value.field == "k"


def test_counts_and_trace_match_built_network():
    net = parse_net("32:conv_k3_s2_c16|gb_k3_s1_m16_c16,gb_k5_s2_m72_c40_se0.25,ghost_k1_s1_c24|"
                    "gap,fc_c10")
    model = build(net)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # By hand: conv 3x3 16 + BN; one Ghost bottleneck 16 -> 16 (two Ghost modules of init 8: 1x1
    # 16->8 + BN, depthwise 3x3 on 8 + BN; identity shortcut); fc 16 -> 10.
    small = count(parse_net("32:conv_k3_s2_c16|gb_k3_s1_m16_c16|gap,fc_c10"))
    ghost = 16 * 8 + 2 * 8 + 9 * 8 + 2 * 8
    assert small.params == (27 * 16 + 2 * 16) + 2 * ghost + (16 * 10 + 10) == 1098
    assert small.params_no_bn == 1098 - 2 * 16 - 2 * 2 * (8 + 8)
    assert small.macs == 16 * 16 * (16 * 27 + 2 * (8 * 16 + 8 * 9)) + 16 * 10
    f = block_features(parse_block("ghost_k1_s1_c15"), (8, 4, 4))
    assert f.count("concat") == 1 and f.count("dwconv") == 1
