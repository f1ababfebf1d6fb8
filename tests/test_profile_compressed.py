"""`nas profile-ops --compress`: a bundle of compressed ops, and its phone results imported into a table of
that weight format.

Facts the code does not produce: the packages' MIL programs read back with coremltools (a palettized
weight is a ``constexpr_lut_to_dense`` op), their weight files' sizes counted by hand from the tensor
shapes and coremltools' blob layout, and a results file written here by hand (as the phone's harness
would) whose timings the table must carry unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nas.cli import main
from nas.latency import load_table
from nas.profiling.contract import load_manifest

BIG = "conv_k3_s1_c32@32x8x8"      # 32*32*3*3 = 9216 weights: >= 2048, compressed
SMALL = "conv_k3_s1_c32@3x8x8"     # 32*3*3*3 = 864 weights: < 2048, left in fp16 (as export leaves it)
ARCH = "8:conv_k3_s1_c32|conv_k3_s1_c32"   # exactly SMALL then BIG
# Hand-given phone timings (ms): per op the median, its overhead model's median, and their difference.
TIMES = {SMALL: (0.30, 0.05, 0.25), BIG: (0.16, 0.04, 0.12)}
OVERHEADS = {"io_1x3x8x8_1x32x8x8": 0.05, "io_1x32x8x8_1x32x8x8": 0.04}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cw") / "b"
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane", "--compress", "lut4", "--ops", SMALL, BIG,
                 "--calibrate", "0", "--validate", "0", "--workers", "1", "--out", str(root)]) == 0
    return root, load_manifest(root / "manifest.json")


def _ops(package: Path) -> list[str]:
    import coremltools as ct
    fn = ct.utils.load_spec(str(package)).mlProgram.functions["main"]
    return [op.type for block in fn.block_specializations.values() for op in block.operations]


def _weight_bin(blobs_bytes: list[int]) -> int:
    """coremltools' weight.bin: a 64-byte file header, then per blob a 64-byte metadata record and the data
    padded to a multiple of 64 bytes."""
    return 64 + sum(64 + 64 * math.ceil(b / 64) for b in blobs_bytes)


def test_bundle_packages_are_compressed_as_export_compresses(bundle):
    root, m = bundle
    assert m["weights"] == "lut4" and m["precision"] == "fp16"
    files = {e["key"]: root / e["file"] for e in m["entries"]}
    assert "constexpr_lut_to_dense" in _ops(files[BIG])
    assert not any(op.startswith("constexpr") for op in _ops(files[SMALL]))         # under the threshold
    for o in m["overheads"]:                                                         # no weights to compress
        assert not any(op.startswith("constexpr") for op in _ops(root / o["file"]))
    wb = "Data/com.apple.CoreML/weights/weight.bin"
    # lut4: 9216 4-bit indices (4608 bytes), a 16-entry fp16 table (32 bytes), the fp16 bias (32 x 2 bytes)
    assert (files[BIG] / wb).stat().st_size == _weight_bin([9216 * 4 // 8, 16 * 2, 32 * 2])
    # fp16: 864 weights x 2 bytes and the bias
    assert (files[SMALL] / wb).stat().st_size == _weight_bin([864 * 2, 32 * 2])


def _results(m: dict, path: Path, weights: str | None = "lut4") -> Path:
    stats = lambda med: {"median_ms": med, "p10_ms": med, "p90_ms": med, "mad_ms": 0.0, "mean_ms": med,
                         "min_ms": med, "max_ms": med, "n": 50, "outliers_removed": 0, "total_time_s": 0.5}
    header = {"kind": "header", "schema": "nas.profiling.results/1", "bundle_id": m["bundle_id"],
              "device": {"name": "iPhone", "hardware_id": "iPhone12,1", "os": "iOS 17.5", "runtime": "Core ML",
                         "runtime_version": "iOS 17.5"}, "unit": "ane", "protocol": m["protocol"],
              "started": "2026-11-30T12:00:00Z", "harness": "hand-written test file"}
    if weights is not None:
        header["weights"] = weights
    lines = [header] + [{"kind": "overhead", "id": i, "stats": stats(ms)} for i, ms in OVERHEADS.items()]
    for key, (med, over, lat) in TIMES.items():
        lines.append({"kind": "entry", "key": key, "load_ms": 1.0, "compile_ms": 5.0, "stats": stats(med),
                      "overhead_ms": over, "latency_ms": lat, "thermal_state": "nominal", "low_power_mode": False,
                      "planned_device": "ane", "planned_cost": None})
    lines.append({"kind": "footer", "entries": len(TIMES), "finished": "2026-11-30T12:01:00Z"})
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    return path


def test_import_carries_the_weight_format_and_the_timings(bundle, tmp_path, capsys, monkeypatch):
    root, m = bundle
    res = _results(m, tmp_path / "r.jsonl")
    out = tmp_path / "iphone11-ane.lut4.yaml"
    assert main(["tables", "import", str(res), "--manifest", str(root / "manifest.json"), "--out", str(out)]) == 0
    assert "weights lut4" in capsys.readouterr().out
    t = load_table(out)
    assert (t.weights, t.method, t.runtime) == ("lut4", "measured", "coreml-mlprogram-ios16")
    assert "\nweights: lut4\n" in out.read_text()
    assert {k: s.median_ms for k, s in t.entries.items()} == {k: v[2] for k, v in TIMES.items()}
    assert t.overhead.median_ms == min(OVERHEADS.values())        # no network-call entry: smallest overhead model
    assert t.provenance["weights"].startswith("lut4: 4-bit palette")
    # `nas latency --compress lut4` finds it among the user's tables and prices with its numbers.
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    assert main(["latency", "--arch", ARCH, "--device", "iphone11", "--unit", "ane", "--compress", "lut4",
                 "--json"]) == 0
    priced = json.loads(capsys.readouterr().out)
    assert priced["total_ms"] == pytest.approx(0.04 + 0.25 + 0.12) and priced["weights"] == "lut4"
    assert priced["weights_note"] is None


@pytest.mark.parametrize("weights, why", [
    ("int8", "weights 'int8' are not the manifest's 'lut4'"),
    (None, "weights 'fp16' are not the manifest's 'lut4'"),        # absent: fp16
    ("lut3", "weights"),                                           # not a format at all (the schema)
])
def test_results_of_another_weight_format_are_refused(bundle, tmp_path, capsys, weights, why):
    root, m = bundle
    res = _results(m, tmp_path / "r.jsonl", weights)
    out = tmp_path / "t.yaml"
    assert main(["tables", "import", str(res), "--manifest", str(root / "manifest.json"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas: error:") and str(res) in err and why in err and "Traceback" not in err
    assert not out.exists()


def test_a_manifest_with_an_unknown_weight_format_is_refused(bundle, tmp_path, capsys):
    root, m = bundle
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(m | {"weights": "lut3"}))
    res = _results(m, tmp_path / "r.jsonl")
    assert main(["tables", "import", str(res), "--manifest", str(bad), "--out", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas: error:") and str(bad) in err and "weights" in err


def test_a_folder_resumed_with_another_format_never_mixes_packages(bundle, tmp_path):
    """fp16 packages converted into a lut4 bundle's folder (--resume) are its own files: the lut4 ones are
    neither reused nor overwritten, and the two bundle ids differ."""
    import shutil
    root, m = bundle
    copy = tmp_path / "b"
    shutil.copytree(root, copy)
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("weight.bin")}
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane", "--ops", SMALL, BIG, "--calibrate", "0",
                 "--validate", "0", "--workers", "1", "--out", str(copy), "--resume"]) == 0
    fp16 = load_manifest(copy / "manifest.json")
    assert "weights" not in fp16 and fp16["bundle_id"] != m["bundle_id"]
    lut4_files = {e["key"]: e["file"] for e in m["entries"]}
    fp16_files = {e["key"]: e["file"] for e in fp16["entries"]}
    assert not set(lut4_files.values()) & set(fp16_files.values())
    assert not any(op.startswith("constexpr") for op in _ops(copy / fp16_files[BIG]))
    assert "constexpr_lut_to_dense" in _ops(copy / lut4_files[BIG])
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())     # the lut4 packages untouched
    assert (copy / fp16_files[BIG] / "Data/com.apple.CoreML/weights/weight.bin").stat().st_size == \
        _weight_bin([9216 * 2, 32 * 2])
