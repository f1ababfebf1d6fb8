"""`nas export --compress`: checked against hand-computed sizes and the textbook quantization-noise law.

Independent facts used:
- bytes: one 64 -> 128 1x1 conv (8,192 weights) is the only tensor of >= 2,048 elements in ONE_BIG; at fp16
  it takes 16,384 bytes, as 4-bit indices 4,096 bytes plus a 16-entry fp16 table (32 bytes), as 6-bit
  indices 6,144 + 128, as int8 8,192 bytes plus 128 per-channel fp16 scales (256) and 128 int8 zero points
  (all 0 in symmetric mode, but iOS 16's constexpr_affine_dequantize takes them); the weight file
  shrinks by the difference, give or take its 64-byte blob headers and alignment.
- SQNR: b-bit quantization of uniformly distributed values over their range has a signal-to-noise ratio
  of 6.02 b dB (the uniform quantizer's noise is step^2 / 12, the signal's power range^2 / 12); torch
  initializes conv weights uniformly (kaiming_uniform_) and a fresh BatchNorm folds in as one scale, so
  k-means and linear quantizers land on that figure.
- lossless: a tensor of 16 distinct values fits a 4-bit table exactly.
"""

from __future__ import annotations

import json

import pytest
import torch

from nas.arch import parse_net
from nas.arch.build import build
from nas.cli import main
from nas.export import ExportError, ExportOptions, export_package
from nas.export.checks import check_counts
from nas.export.mil import read_program

ONE_BIG = "32:conv_k3_s1_c64_arelu|conv_k1_s1_c128_arelu|gap,fc_c10"
# four tensors of >= 2,048 elements: 64x128 1x1, 128x128 3x3, 128x256 1x1, the 256x100 classifier
SEVERAL = "16:conv_k3_s1_c64_arelu|conv_k1_s1_c128_arelu,conv_k3_s1_c128_arelu,conv_k1_s1_c256_arelu|gap,fc_c100"
FP16_BYTES = 8192 * 2


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "p.mlpackage"
    return export_package(parse_net(ONE_BIG, name="one_big"), out)


def _weight_bin(result) -> int:
    return (result.path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").stat().st_size


@pytest.mark.parametrize("name, stored", [("lut4", 4096 + 32), ("lut6", 6144 + 128), ("int8", 8192 + 256 + 128)])
def test_weight_file_shrinks_by_the_hand_computed_bytes(plain, tmp_path, name, stored):
    res = export_package(parse_net(ONE_BIG, name="one_big"), tmp_path / f"{name}.mlpackage",
                         options=ExportOptions(compress=name))
    rep = res.compression
    assert (rep.tensors, rep.compressed) == (1, 1)
    assert rep.bytes_before == _weight_bin(plain)
    assert rep.bytes_after == _weight_bin(res)
    saved = rep.bytes_before - rep.bytes_after
    assert abs(saved - (FP16_BYTES - stored)) <= 192, (saved, FP16_BYTES - stored)


@pytest.mark.parametrize("name, bits", [("lut4", 4), ("lut6", 6), ("int8", 8)])
def test_sqnr_follows_six_db_per_bit_on_uniform_weights(tmp_path, name, bits):
    res = export_package(parse_net(SEVERAL, name="several"), tmp_path / "m.mlpackage",
                         options=ExportOptions(compress=name))
    rep = res.compression
    assert rep.compressed == rep.tensors == 4           # every weight tensor of >= 2,048 elements
    assert abs(rep.sqnr_db - 6.02 * bits) < 1.5, rep.sqnr_db
    assert rep.worst_sqnr_db <= rep.sqnr_db + 1.5
    assert rep.bytes_after < rep.bytes_before
    meta = res.metadata
    assert meta["nas.compression"].startswith(f"{name}: ")
    assert meta["nas.latency_weights"].startswith(f"the nas.latency figures price fp16 weights: no latency table "
                                                  f"of {name} weights for this device (none ships")
    prog = read_program(res.path)
    assert check_counts(prog, res.spec).ok             # the same network: only the weights' storage changed
    assert prog.metadata["nas.compression_weight_sqnr_db"] == f"{rep.sqnr_db:.1f} dB"


def test_sixteen_distinct_values_are_lossless_in_four_bits(tmp_path):
    net = parse_net(ONE_BIG, name="one_big")
    sd = build(net).state_dict()
    big = next(k for k, v in sd.items() if v.numel() == 8192)
    levels = torch.arange(16, dtype=torch.float32) / 8 - 1            # -1, -0.875, ..., 0.875: exact in fp16
    sd[big] = levels[torch.arange(8192) % 16].reshape(sd[big].shape)
    for k in sd:
        if k.endswith("running_var"):
            sd[k] = torch.ones_like(sd[k]) - 1e-5      # BN eps 1e-5: the folded scale is exactly 1
    res = export_package(net, tmp_path / "l.mlpackage", weights=sd, options=ExportOptions(compress="lut4"))
    assert res.compression.sqnr_db == float("inf")
    assert res.compression.line().count("lossless") == 2


def test_cli_prints_sizes_and_says_what_is_not_measured(tmp_path, capsys):
    out = tmp_path / "c.mlpackage"
    assert main(["export", "--arch", ONE_BIG, "--out", str(out), "--compress", "lut4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    comp = data["compression"]
    assert comp["name"] == "lut4" and comp["compressed"] == 1 and comp["threshold_elements"] == 2048
    assert comp["weight_bytes_after"] == (out / "Data/com.apple.CoreML/weights/weight.bin").stat().st_size
    assert main(["export", "--arch", ONE_BIG, "--out", str(tmp_path / "t.mlpackage"), "--compress", "int8"]) == 0
    text = capsys.readouterr().out
    assert "weights int8 (" in text and "measured" in text
    assert "not an accuracy" in text and "no latency table of int8 weights for this device (none ships" in text
    assert main(["check", str(tmp_path / "t.mlpackage")]) == 0     # the same network: op counts still match
    text = capsys.readouterr().out
    assert "weights int8: 8-bit linear" in text and "weight SQNR" in text and " dB" in text


def test_compressed_export_is_deterministic(tmp_path):
    a = export_package(parse_net(ONE_BIG, name="x"), tmp_path / "a.mlpackage", options=ExportOptions(compress="lut6"))
    b = export_package(parse_net(ONE_BIG, name="x"), tmp_path / "b.mlpackage", options=ExportOptions(compress="lut6"))
    for f in ("Data/com.apple.CoreML/model.mlmodel", "Data/com.apple.CoreML/weights/weight.bin"):
        assert (a.path / f).read_bytes() == (b.path / f).read_bytes(), f


def test_unknown_compression_refused(tmp_path):
    with pytest.raises(ExportError, match="weight compression must be one of int8, lut8, lut6, lut4"):
        ExportOptions(compress="lut3")
    with pytest.raises(SystemExit) as e:
        main(["export", "--arch", ONE_BIG, "--out", str(tmp_path / "x.mlpackage"), "--compress", "lut3"])
    assert e.value.code == 2
    assert not (tmp_path / "x.mlpackage").exists()


def test_the_uncompressed_size_is_read_without_a_second_save(plain, tmp_path, monkeypatch):
    """--compress measured the uncompressed weight file by saving that model a second time; the converter has
    already written it in the model's package folder, which ``save`` copies: one save, the same bytes."""
    import coremltools as ct
    saves, real = [], ct.models.MLModel.save
    monkeypatch.setattr(ct.models.MLModel, "save", lambda self, path: saves.append(path) or real(self, path))
    res = export_package(parse_net(ONE_BIG, name="one_big"), tmp_path / "one.mlpackage",
                         options=ExportOptions(compress="lut6"))
    assert len(saves) == 1 and res.compression.bytes_before == _weight_bin(plain)
