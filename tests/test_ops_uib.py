"""MobileNetV4's universal inverted bottleneck, ResNet's basic block and MobileOne's SE on ds: hand-counted cases."""

import pytest
import torch

from nas.arch import format_block, parse_block
from nas.arch.resolve import block_out_shape
from nas.errors import SpecError
from nas.ops import REGISTRY
from nas.ops.features import block_features


def _build(text, shape):
    b = parse_block(text)
    return b, REGISTRY.get(b.type).build(b.args, shape).eval()


def test_extra_dw_counts_by_hand():
    # 16 -> start dw 3x3 (144) -> 1x1 to 32 (512) -> mid dw 3x3 (288) -> 1x1 to 16 (512); BN 2 x (16+32+32+16)
    b = parse_block("uib_ks3_km3_s1_e2_c16")
    f = block_features(b.single(True), (16, 8, 8))
    assert f.params == 144 + 512 + 288 + 512 + 2 * (16 + 32 + 32 + 16)
    assert f.macs == (144 + 512 + 288 + 512) * 64
    assert f.count("dwconv") == 2 and f.count("add") == 1 and f.count("relu") == 2   # the start dw has no activation


@pytest.mark.parametrize("text,out", [("uib_ks5_km5_s2_e3_c24", (24, 4, 4)),    # ExtraDW: stride on the middle dw
                                      ("uib_ks0_km3_s2_e2_c24", (24, 4, 4)),    # IB
                                      ("uib_ks3_km0_s2_e4_c24", (24, 4, 4)),    # ConvNext: stride on the start dw
                                      ("uib_ks0_km0_s1_e2_c16", (16, 8, 8))])   # FFN
def test_variants_shapes_and_roundtrip(text, out):
    b, m = _build(text, (16, 8, 8))
    assert format_block(b) == text and parse_block(str(b)) == b
    assert m(torch.randn(1, 16, 8, 8)).shape[1:] == block_out_shape(b, (16, 8, 8)) == out


def test_stride_placement_and_residual():
    _, cn = _build("uib_ks3_km0_s2_e4_c24", (16, 8, 8))
    assert cn.body[0][0].stride == (2, 2) and not cn.residual
    _, xd = _build("uib_ks5_km5_s2_e3_c24", (16, 8, 8))
    assert xd.body[0][0].stride == (1, 1) and xd.body[2][0].stride == (2, 2)
    _, ffn = _build("uib_ks0_km0_s1_e2_c16", (16, 8, 8))
    assert ffn.residual


@pytest.mark.parametrize("text", ["uib_ks0_km0_s2_c16", "uib_ks4_km3_c16", "uib_ks3_km99_c16", "uib_ks3_km3_e0_c16"])
def test_bad_uib_refused(text):
    with pytest.raises(SpecError):
        parse_block(text)


def test_basic_block_counts_by_hand():
    # 3x3 64->128 /2, 3x3 128->128, projection 1x1 64->128 /2; three BNs of 128
    f = block_features(parse_block("basic_s2_c128").single(True), (64, 8, 8))
    assert f.params == 64 * 128 * 9 + 128 * 128 * 9 + 64 * 128 + 3 * 2 * 128
    assert f.macs == (64 * 128 * 9 + 128 * 128 * 9 + 64 * 128) * 16
    same = block_features(parse_block("basic_s1_c64").single(True), (64, 8, 8))
    assert same.params == 2 * 64 * 64 * 9 + 2 * 2 * 64   # identity shortcut


def test_ds_with_squeeze_excite_counts_by_hand():
    # MobileOne-S4: SE (reduce int(C/16) with bias, expand with bias) on each conv's output, before its ReLU
    f = block_features(parse_block("ds_k3_s1_c64_se0.0625").single(True), (32, 8, 8))
    dw, pw = 32 * 9 + 2 * 32, 32 * 64 + 2 * 64
    se32, se64 = (32 * 2 + 2) + (2 * 32 + 32), (64 * 4 + 4) + (4 * 64 + 64)
    assert f.params == dw + pw + se32 + se64
    assert f.count("sigmoid") == 2 and f.count("relu") == 4
    plain = block_features(parse_block("ds_k3_s1_c64").single(True), (32, 8, 8))
    assert plain.params == dw + pw and format_block(parse_block("ds_k3_s1_c64")) == "ds_k3_s1_c64"
