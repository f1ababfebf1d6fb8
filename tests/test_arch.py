"""The description: DSL round trips, resolve, counts, builder, registry contract."""

import dataclasses

import pytest
import torch

from nas.arch import format_block, format_net, parse_block, parse_net, resolve
from nas.arch.build import build
from nas.arch.counts import count
from nas.errors import SpecError
from nas.ops import BLOCK_MODULES, REGISTRY


def test_block_roundtrip_and_canonical_order():
    b = parse_block("ir_c24_se0.25_e6_s2_k3_r2")
    assert b.repeats == 2 and b.args.kernel == (3,) and b.args.expand == 6.0 and b.args.se == 0.25
    assert format_block(b) == "ir_r2_k3_s2_e6_c24_se0.25"
    assert parse_block(format_block(b)) == b


def test_mixconv_kernels_and_flags():
    b = parse_block("ir_k3.5.7_s1_e3_c40_g2_ahswish_noskip")
    assert b.args.kernel == (3, 5, 7) and b.args.groups == 2 and b.args.act == "hswish" and b.args.noskip
    assert parse_block(str(b)) == b


def test_mixnet_expansion_and_projection_groups():
    from nas.ops.common import ChannelShuffle
    b = parse_block("ir_k3.5_s1_e6_c40_gp2_ge2_aswish_se0.5")
    assert (b.args.expand_groups, b.args.project_groups, b.args.groups) == (2, 2, 1)
    assert str(b) == "ir_k3.5_s1_e6_c40_ge2_gp2_aswish_se0.5" and parse_block(str(b)) == b
    assert str(parse_block("ir_k3_c8_ge1_gp1")) == "ir_k3_s1_e1_c8"   # 1 is the default
    ir = REGISTRY.get("ir")
    m = ir.build(b.args, (40, 8, 8))
    convs = [c for c in m.modules()
             if isinstance(c, torch.nn.Conv2d) and c.kernel_size == (1, 1) and c.bias is None]
    assert [c.groups for c in convs] == [2, 2]                          # expansion, projection
    assert not any(isinstance(c, ChannelShuffle) for c in m.modules())  # MixNet has no shuffle
    only_p = ir.build(parse_block("ir_k3_s2_e6_c80_gp2").args, (40, 8, 8))
    weights = [c.weight.shape for c in only_p.modules()
               if isinstance(c, torch.nn.Conv2d) and c.kernel_size == (1, 1) and c.bias is None]
    assert weights == [(240, 40, 1, 1), (80, 120, 1, 1)]               # dense expansion, 2-group projection
    g2 = ir.build(parse_block("ir_k3_s1_e6_c40_g2").args, (40, 8, 8))
    assert any(isinstance(c, ChannelShuffle) for c in g2.modules())     # g keeps FBNet's shuffle


@pytest.mark.parametrize("text,in_ch,field", [
    ("ir_k3_c24_g2_ge2", None, "ge"),      # g (with shuffle) and ge (without) together
    ("ir_k3_c24_gp0", None, "gp"),
    ("ir_k3_e1_c24_ge2", 24, "ge"),        # nothing to expand
    ("ir_k3_e6_c24_ge5", 24, "ge"),        # 5 does not divide 24
    ("ir_k3_e6_c25_gp2", 24, "gp"),        # 2 does not divide 25
])
def test_bad_ir_groups_name_the_field(text, in_ch, field):
    with pytest.raises(SpecError) as e:
        b = parse_block(text)
        REGISTRY.get("ir").out_shape(b.args, (in_ch, 8, 8))
    assert e.value.field == field


def test_token_letters_mean_one_field_everywhere():
    meaning = {}
    for code in REGISTRY.codes():
        for t in REGISTRY.get(code).tokens:
            assert meaning.setdefault(t.key, t.field) == t.field, (code, t.key)


def test_every_block_module_registers_something():
    import importlib
    for name in BLOCK_MODULES:
        mod = importlib.import_module(name)
        classes = {v for v in vars(mod).values() if isinstance(v, type)}
        assert any(REGISTRY.get(c).args in classes for c in REGISTRY.codes()), name


@pytest.mark.parametrize("text,field", [
    ("ir_k3_c24_zz9", "zz9"),          # unknown token
    ("ir_k3_s2", "c"),                 # required token missing
    ("ir_k4_c24", "k"),                # even kernel
    ("ir_s9_c24", "s"),                # stride not allowed
    ("nope_c3", "type"),               # unknown block
    ("ir_c24_c32", "c32"),             # token twice
])
def test_bad_block_strings_name_the_field(text, field):
    with pytest.raises(SpecError) as e:
        parse_block(text)
    assert e.value.field == field


def test_bad_net_names_layer():
    with pytest.raises(SpecError) as e:
        parse_net("224:conv_k3_s2_c16|ir_k3_c24,ir_kx_c3")
    assert e.value.layer == "1.1" and "kx" in str(e.value)


def test_stride_that_breaks_shapes_names_layer():
    net = parse_net("8:" + "|".join(["conv_k3_s2_c8"] * 5))
    with pytest.raises(SpecError) as e:
        resolve(net)
    assert e.value.layer.startswith("3.0") and e.value.field == "s"


def test_repeats_keep_stride_on_first_only():
    layers = resolve(parse_net("32:ir_r3_k3_s2_e6_c8"))
    assert [l.block.args.stride for l in layers] == [2, 1, 1]
    assert [l.out_shape for l in layers] == [(8, 16, 16)] * 3
    assert layers[1].key == "ir_k3_s1_e6_c8@8x16x16"


def test_counts_by_hand():
    # Counted by hand, not by building the module (count() traces the same modules build() makes).
    net = parse_net("32:conv_k3_s2_c16|ir_k3_s2_e6_c24_se0.25|gap,fc_c10")
    conv = 3 * 3 * 3 * 16 + 2 * 16                     # 3x3 conv, no bias, BN scale + shift
    mid = 16 * 6
    ir = (16 * mid + 2 * mid                            # 1x1 expansion + BN
          + 9 * mid + 2 * mid                           # 3x3 depthwise + BN
          + (mid * 4 + 4) + (4 * mid + mid)             # SE: reduce to 16 * 0.25 = 4 and back, biased
          + mid * 24 + 2 * 24)                          # 1x1 projection + BN; stride 2: no residual
    fc = 24 * 10 + 10
    bn = 2 * 16 + 2 * mid + 2 * mid + 2 * 24
    # MACs: conv at 16x16 out; expansion at 16x16; depthwise and projection at 8x8; SE on 1x1; fc
    macs = (16 * 16 * 16 * 27 + 16 * 16 * mid * 16 + 8 * 8 * mid * 9 + 2 * mid * 4
            + 8 * 8 * 24 * mid + 24 * 10)
    c = count(net)
    assert (c.params, c.params_no_bn, c.macs) == (conv + ir + fc, conv + ir + fc - bn, macs) == (6718, 6254, 707568)


def test_built_module_runs():
    net = parse_net("64:conv_k3_s2_c16|ir_k3.5_s2_e3_c24_se0.25_g2|ir_k5_s1_e6_c24_ahswish|gap,fc_c10")
    model = build(net)
    y = model(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 10)
    # MACs by hand for the first conv: 32x32 outputs * 16 filters * 3*3*3
    first = resolve(net)[0]
    from nas.ops.features import block_features
    assert block_features(first.block, first.in_shape).macs == 32 * 32 * 16 * 27


def test_net_roundtrip_text():
    text = "256x192/1:conv_k3_s2_c16|ir_r2_k3_s2_e6_c24,skip_s1_c24|gap,fc_c1000"
    net = parse_net(text)
    assert format_net(net) == text and parse_net(format_net(net)) == net


def test_specs_are_frozen():
    b = parse_block("ir_k3_c8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.args.out = 3
