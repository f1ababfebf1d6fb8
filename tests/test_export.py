"""Core ML export: packages load, op counts match the description, ANE report, determinism, weights."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas import zoo
from nas.arch import parse_net
from nas.arch.build import build
from nas.cli import main
from nas.export import ExportError, ExportOptions, export_package
from nas.export.ane import PREDICATES, ane_report, load_rules
from nas.export.checks import check_counts
from nas.export.mil import read_program
from nas.export.torch_prep import IMAGENET_MEAN, IMAGENET_STD, apply_state_dict, backbone_spec, prepare

# SE (h-sigmoid gate), MixConv (split/concat), grouped 1x1 + channel shuffle, dilated conv, pools,
# and every activation the lowering table names.
CRAFTED = ("64:conv_k3_s2_c16_ahswish|ir_k3.5.7_s1_e3_c16_se0.25_sghsigmoid_aswish,ir_k3_s2_e4_g2_c32,"
           "conv_k3_s1_c32_d2_aleaky,conv_k1_s1_c32_aprelu,conv_k1_s1_c32_asigmoid,pool_tmax_k3_s2_p1,"
           "pool_tavg_k2_s2|gap,fc_c10")
TINY = "32:conv_k3_s2_c8|ir_k3_s1_e2_c8|gap,fc_c4"
LABELS = tuple(f"class{i}" for i in range(10))


def digests(package: Path) -> dict[str, str]:
    return {str(f.relative_to(package)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(package.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    out = tmp_path_factory.mktemp("crafted") / "crafted.mlpackage"
    return export_package(parse_net(CRAFTED, name="crafted"), out, options=ExportOptions(labels=LABELS))


@pytest.fixture(scope="module")
def mobilenet_v2(tmp_path_factory):
    out = tmp_path_factory.mktemp("mv2") / "mobilenet_v2.mlpackage"
    return export_package(zoo.get("mobilenet_v2").spec, out)


def test_crafted_op_counts_match(crafted):
    prog = read_program(crafted.path)
    check = check_counts(prog)
    assert check.ok, check.lines()
    found = prog.counts()
    assert found["dwconv"] == 4 and found["gconv"] == 2 and found["split"] == 1 and found["concat"] == 1
    assert found["transpose"] == 1 and found["softmax"] == 1
    assert prog.input_kinds == {"image": "image"}
    assert prog.metadata["nas.dsl"] == str(parse_net(CRAFTED)) and prog.metadata["nas.classifier"] == "true"
    assert prog.description["license"] == "MIT"


def test_count_check_reports_a_mismatch(crafted):
    prog = read_program(crafted.path)
    other = parse_net(CRAFTED.replace("conv_k3_s1_c32_d2_aleaky,", ""))  # one conv and one leaky fewer
    check = check_counts(prog, other)
    assert not check.ok
    assert {k for k, _, _ in check.mismatches} == {"conv", "leaky_relu/prelu"}
    assert ("conv", 7, 8) in check.mismatches
    assert any("conv (dense): description 7, MIL program 8" in line for line in check.lines())


def test_crafted_flags_dilation_and_se(crafted):
    report = ane_report(read_program(crafted.path))
    by_rule = {f.rule.id: f for f in report.findings}
    assert set(by_rule) == {"L3", "L7"}
    assert by_rule["L3"].op.type == "conv" and by_rule["L3"].detail == "dilation 2"
    assert by_rule["L3"].rule.source.startswith("hollance/neural-engine") and by_rule["L3"].rule.confidence == "C"
    assert by_rule["L7"].rule.level == "suspected"
    assert len(report.islands) == 2 and report.definite_islands == 1
    text = "\n".join(report.lines())
    assert "2 predicted CPU/GPU island(s)" in text and "1 from suspected rules only" in text
    assert "avoid dilation" in text and len(report.preprocessing) == 2


def test_export_is_deterministic(crafted, tmp_path):
    """Another process (another hash seed) writes the same bytes."""
    out = tmp_path / "again.mlpackage"
    root = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path.insert(0, 'tests'); from test_export import *; "
            f"export_package(parse_net(CRAFTED, name='crafted'), {str(out)!r}, options=ExportOptions(labels=LABELS))")
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(root))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root, capture_output=True)
    first, second = digests(crafted.path), digests(out)
    assert set(first) == {"Manifest.json", "Data/com.apple.CoreML/model.mlmodel",
                          "Data/com.apple.CoreML/weights/weight.bin"}
    assert first == second


def test_mobilenet_v2_exports_clean(mobilenet_v2):
    prog = read_program(mobilenet_v2.path)
    assert check_counts(prog).ok, check_counts(prog).lines()
    assert prog.counts()["dwconv"] == 17 and prog.counts()["clip"] == 35
    report = ane_report(prog)
    assert report.islands == () and report.findings == ()
    assert "0 predicted CPU/GPU island(s)" in report.lines()[0]
    assert prog.metadata["nas.normalize"] == "folded"
    assert int(prog.metadata["nas.params"]) == 3504872


def test_fbnet_c_reports_no_islands(tmp_path, capsys):
    out = tmp_path / "fbnet_c.mlpackage"
    assert main(["export", "--model", "fbnet_c", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ane"]["islands"] == 0 and data["op_counts"]["ok"]


def test_fp32_package_is_one_p1_island(tmp_path, capsys):
    out = tmp_path / "tiny32.mlpackage"
    assert main(["export", "--arch", TINY, "--out", str(out), "--precision", "fp32", "--tensor-input"]) == 0
    capsys.readouterr()
    assert main(["check", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["op_counts"]["ok"]
    ane = data["ane"]
    assert ane["islands"] == 1 and ane["island_list"][0]["rules"] == ["P1"]
    assert ane["island_list"][0]["first_op"] == 0 and ane["island_list"][0]["last_op"] == ane["ops"] - 1
    assert ane["rules"]["P1"]["source"].endswith("typed-execution.md") and ane["rules"]["P1"]["confidence"] == "A"
    assert main(["check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "P1 fp32-typed op" in text and "--precision fp16" in text


def test_backbone_only_exports_features(tmp_path):
    net = parse_net(TINY)
    cut = backbone_spec(net)
    assert str(cut) == "32:conv_k3_s2_c8|ir_k3_s1_e2_c8"
    r = export_package(net, tmp_path / "bb.mlpackage", options=ExportOptions(backbone_only=True))
    prog = read_program(r.path)
    assert r.output_names == ("features",) and prog.metadata["nas.output_shape"] == "8x16x16"
    assert check_counts(prog).ok and "linear" not in prog.counts()


def test_normalization_is_exact():
    """(x/255 - mean) through the export module equals the torch model on ImageNet-normalized input."""
    for dsl, how in ((TINY, "folded"), ("32:ir_k3_s2_e2_c8|gap,fc_c4", "mul")):
        net = parse_net(dsl)
        torch.manual_seed(0)
        ref = build(net).eval()
        prep = prepare(net, weights=None, seed=0, image_input=True, backbone_only=False, labels=None)
        assert prep.normalize == how
        img = torch.rand(1, 3, 32, 32)
        mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
        with torch.no_grad():
            torch.testing.assert_close(prep.module(img - mean), ref((img - mean) / std), rtol=1e-5, atol=1e-5)


def test_state_dict_mismatch_names_the_tensor(tmp_path):
    net = parse_net(TINY)
    sd = build(net).state_dict()
    bad = dict(sd)
    key = "stages.1.0.body.0.0.weight"
    bad[key] = torch.zeros(3, 3, 1, 1)
    with pytest.raises(ExportError, match=f"tensor '{key}' has shape \\(3, 3, 1, 1\\)"):
        apply_state_dict(build(net), bad)
    missing = {k: v for k, v in sd.items() if k != "stages.0.0.1.running_mean"}
    with pytest.raises(ExportError, match="'stages.0.0.1.running_mean'.*missing"):
        apply_state_dict(build(net), missing)
    path = tmp_path / "w.pt"
    torch.save(sd | {"head.extra": torch.zeros(1)}, path)
    assert main(["export", "--arch", TINY, "--weights", str(path), "--out", str(tmp_path / "x.mlpackage")]) == 2
    torch.save(sd, path)
    prep = prepare(net, weights=path, seed=5, image_input=False, backbone_only=False, labels=None)
    torch.testing.assert_close(prep.module.state_dict()["stages.0.0.0.weight"], sd["stages.0.0.0.weight"])


@pytest.mark.parametrize("spoil, says", [
    (lambda sd, k: sd[k].view(-1).__setitem__(0, float("nan")), "1 non-finite value"),
    (lambda sd, k: sd[k].view(-1).__setitem__(3, float("-inf")), "1 non-finite value"),
    (lambda sd, k: sd.__setitem__(k.replace("0.weight", "1.running_var"),
                                  -torch.ones_like(sd[k.replace("0.weight", "1.running_var")])), "negative value"),
    (lambda sd, k: sd.__setitem__(k, sd[k].to(torch.int64)), "has dtype int64"),
])
def test_weights_with_values_the_converter_cannot_take_are_refused(tmp_path, capsys, spoil, says):
    """A NaN weight stopped coremltools with an AssertionError traceback; a negative BatchNorm variance
    exported a package that computes NaN. Each is refused naming the file and tensor, nothing written."""
    net = parse_net(TINY)
    sd = build(net).state_dict()
    key = "stages.0.0.0.weight"
    spoil(sd, key)
    path = tmp_path / "w.pt"
    torch.save(sd, path)
    out = tmp_path / "x.mlpackage"
    assert main(["export", "--arch", TINY, "--weights", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"nas: error: {path}: tensor 'stages.0.0." in err and says in err
    assert not out.exists()


def test_bad_options_refused():
    with pytest.raises(ExportError, match="precision"):
        ExportOptions(precision="int8")
    with pytest.raises(ExportError, match="3 labels for 4 classes"):
        prepare(parse_net(TINY), weights=None, seed=0, image_input=True, backbone_only=False,
                labels=("a", "b", "c"))
    with pytest.raises(ExportError, match="classifier"):
        prepare(parse_net(TINY), weights=None, seed=0, image_input=True, backbone_only=True, labels=("a",) * 4)


def test_unknown_device_is_refused_before_converting(tmp_path, monkeypatch):
    from nas.errors import NasError
    from nas.export import package
    monkeypatch.setattr(package, "_convert", lambda *a, **k: pytest.fail("converted before checking --device"))
    with pytest.raises(NasError, match="--device 'iphone1l': unknown, and no latency table for it"):
        export_package(parse_net(TINY), tmp_path / "t.mlpackage", options=ExportOptions(device="iphone1l"))
    assert list(tmp_path.iterdir()) == []


def test_device_outside_the_registry_finds_each_table_once(tmp_path, monkeypatch, capsys):
    """A --device with a table of its own (NAS_TABLES_DIR) but no registry entry is accepted, and each unit's
    table is looked up once: cpu, gpu, ane (the typo check and the metadata used to look up apart: 4 here)."""
    import nas.latency
    from nas.latency.store import SHIPPED_DIR
    mine = tmp_path / "tables"
    mine.mkdir()
    text = (SHIPPED_DIR / "iphone11-cpu.coreml-mlprogram-ios16.yaml").read_text()
    assert "\ndevice: iphone11\n" in text
    (mine / "myphone-cpu.coreml-mlprogram-ios16.yaml").write_text(text.replace("\ndevice: iphone11\n",
                                                                               "\ndevice: myphone\n", 1))
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    import nas.latency.store
    calls, find_priced = [], nas.latency.store.find_priced      # the export's lookup (weight format aware)
    monkeypatch.setattr(nas.latency.store, "find_priced", lambda *a, **k: calls.append(a[:2]) or find_priced(*a, **k))
    out = tmp_path / "t.mlpackage"
    assert main(["export", "--arch", TINY, "--device", "myphone", "--out", str(out), "--json"]) == 0
    assert sorted(calls) == [("myphone", "ane"), ("myphone", "cpu"), ("myphone", "gpu")]
    meta = json.loads(capsys.readouterr().out)["metadata"]
    # the tiny network's ops are not in the copied table: the metadata names that table and the missing op
    assert meta["nas.latency.myphone.cpu"].startswith(f"unavailable: {mine / 'myphone-cpu.coreml-mlprogram-ios16.yaml'}"
                                                      f": no entry for op 'conv_k3_s2_c8@3x32x32'")
    assert meta["nas.latency.myphone.ane"].startswith("unavailable: no latency table for device 'myphone' unit 'ane'")


def test_rules_file_matches_checks():
    rules = load_rules()
    assert {r.id for r in rules} == set(PREDICATES)
    reference = (Path(__file__).resolve().parents[1] / "nas" / "export" / "ane_rules.yaml").read_text()
    for r in rules:
        assert r.source and r.fix and r.confidence in "ACS", r.id
        assert f"id: {r.id}" in reference


@pytest.mark.macos
@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML prediction and MLComputePlan run on macOS only")
def test_macos_prediction_and_compute_plan(tmp_path):
    from nas.export import macos

    for precision in ("fp16", "fp32"):
        r = export_package(parse_net(TINY), tmp_path / f"t{precision}.mlpackage",
                           options=ExportOptions(precision=precision, labels=("a", "b", "c", "d")))
        check = macos.compare_prediction(r, precision)
        assert check.ok, check.line()
    ops = macos.compute_plan(r.path)
    assert ops and all(op.preferred in ("cpu", "gpu", "ane", None) for op in ops)
    assert macos.plan_lines(ops)[0].startswith("MLComputePlan")


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model_exports(name, tmp_path):
    r = export_package(zoo.get(name).spec, tmp_path / f"{name}.mlpackage")
    prog = read_program(r.path)
    check = check_counts(prog)
    assert check.ok, check.lines()
