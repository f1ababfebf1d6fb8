"""Weights an fp16 export cannot hold: refused, naming the file and the tensor, before converting.

coremltools keeps an op whose constant exceeds float16's largest value (65504) in fp32, with casts in and
out (its ``FP16ComputePrecision.fp16_overflow``): a CPU/GPU island in a package meant for the Neural
Engine. It sees a conv and the BatchNorm after it folded into one weight, so the check does too. The
expectations are hand-computed; ``test_the_converter_agrees`` converts the same state dicts to show what
coremltools itself does with them.
"""

from __future__ import annotations

import math

import pytest
import torch

from nas.arch import parse_net
from nas.arch.build import build
from nas.cli import main
from nas.export import ExportError, ExportOptions, export_package
from nas.export.mil import read_program
from nas.export.torch_prep import prepare

TINY = "32:conv_k3_s2_c8|ir_k3_s1_e2_c8|gap,fc_c4"
CONV, BN, FC = "stages.0.0.0.weight", "stages.0.0.1", "stages.2.1.fc.weight"


def _weights():
    torch.manual_seed(0)
    return {k: v.clone() for k, v in build(parse_net(TINY)).state_dict().items()}


def _prepare(sd, precision="fp16"):
    return prepare(parse_net(TINY), weights=sd, seed=0, image_input=False, backbone_only=False, labels=None,
                   precision=precision)


def test_a_weight_beyond_65504_is_refused_naming_file_and_tensor(tmp_path, capsys):
    sd = _weights()
    sd[FC][0, 0] = -7e4
    path = tmp_path / "w.pt"
    torch.save(sd, path)
    out = tmp_path / "x.mlpackage"
    assert main(["export", "--arch", TINY, "--weights", str(path), "--tensor-input", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nas: error: {path}: tensor '{FC}' holds 70000, beyond float16's largest value 65504")
    assert "P1" in err and "--precision fp32" in err and len(err.splitlines()) == 1 and not out.exists()
    assert _prepare(sd, precision="fp32").module is not None          # an fp32 export holds it


def test_conv_and_batchnorm_checked_folded():
    sd = _weights()
    sd[f"{BN}.running_var"][0] = 1e6            # folds to weight / 1000: no overflow, accepted
    _prepare(sd)
    sd = _weights()
    sd[f"{BN}.weight"][0], sd[f"{BN}.running_var"][0] = 1e4, 1e-12     # each tensor within fp16
    w0 = float(sd[CONV][0].abs().max())
    folded = w0 * 1e4 / math.sqrt(1e-12 + 1e-5)                        # BatchNorm2d's eps is 1e-5
    assert folded > 65504
    with pytest.raises(ExportError) as e:
        _prepare(sd)
    msg = str(e.value)
    assert msg.startswith(f"state dict: tensor '{CONV}' folded with the BatchNorm after it ('{BN}.running_var'")
    assert f"reaches {folded:.6g}," in msg
    sd = _weights()
    sd[CONV][0, 0, 0, 0] = 1e5                  # gamma 1, var 1: folded about 99999.5
    with pytest.raises(ExportError, match=f"'{CONV}' folded .* reaches 99999"):
        _prepare(sd)


def test_the_converter_agrees(tmp_path):
    """What the check refuses, coremltools would have left in fp32 (casts around it); what it accepts has no cast."""
    from nas.export.package import _convert
    sd = _weights()
    sd[f"{BN}.weight"][0], sd[f"{BN}.running_var"][0] = 1e4, 1e-12
    prep = _prepare(sd, precision="fp32")                            # unchecked: what fp16 would have met
    program = read_program(_convert(prep, ExportOptions(tensor_input=True)).get_spec())
    assert program.counts()["cast"] == 2 and any(op.type == "conv" and op.out_dtype == "FLOAT32" for op in program.ops)
    sd = _weights()
    sd[f"{BN}.running_var"][0] = 1e6
    export_package(parse_net(TINY), tmp_path / "ok.mlpackage", weights=sd, options=ExportOptions(tensor_input=True))
    assert read_program(tmp_path / "ok.mlpackage").counts()["cast"] == 0
