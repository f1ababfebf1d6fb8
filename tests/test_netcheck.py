"""Whole networks in device bundles: bundle -> Swift harness (simulated, non-additive) -> import ->
in-network correction -> validation figures, and `nas tables validate --results` re-deriving them.

The fast test builds the fbnet bundle's manifest for real (ops, overhead models, 24 calibration and 30
validation networks with their layers) but writes empty model packages: the simulator never opens
them (ios_profiler/README.md), and converting 166 models takes minutes here. The slow test converts
everything with the real CLI. The simulator's timing model is documented in Simulation.swift; the
expected outcome (uncorrected sums off by tens of %, corrected ones within +-10 % on >= 90 % of the
validation networks) follows from it, not from this code.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nas.cli import main
from nas.latency import load_table
from nas.profiling import bundle as bundle_mod
from nas.profiling.importer import SWIFT_DIR
from nas.profiling.networks import CALIBRATION_SEED, VALIDATION_SEED, draw
from nas.profiling.ops import collect
from nas.spaces import load_space


def _nas_profiler() -> Path:
    exe = SWIFT_DIR / ".build" / "debug" / "nas-profiler"
    swift = shutil.which("swift") or ("/opt/swift/usr/bin/swift" if os.access("/opt/swift/usr/bin/swift", os.X_OK)
                                      else None)
    if swift is None:
        if exe.exists():
            return exe
        pytest.skip("no Swift toolchain (swift on PATH or /opt/swift/usr/bin): cannot build nas-profiler")
    r = subprocess.run([swift, "build"], cwd=SWIFT_DIR, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    return exe


def _simulate(root: Path, out: Path) -> None:
    exe = _nas_profiler()
    r = subprocess.run([str(exe), "validate-bundle", str(root)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    r = subprocess.run([str(exe), "profile", str(root), "--unit", "ane", "--out", str(out), "--simulate"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def test_networks_are_disjoint_and_drawn_like_the_local_protocol():
    space = load_space("fbnet")
    nets = draw(space, 24, 30)
    cal = [n for n in nets if n.role == "calibration"]
    val = [n for n in nets if n.role == "validation"]
    assert len(cal) == 24 and 25 <= len(val) <= 30
    assert {str(n.net) for n in cal}.isdisjoint(str(n.net) for n in val)
    import numpy as np
    first = space.sample(np.random.default_rng(CALIBRATION_SEED), 24)[0]
    assert str(cal[0].net) == str(space.decode(first))  # same draw as nas profile-ops --device local
    assert {n.seed for n in val} == {VALIDATION_SEED}    # same default seed as nas tables validate


@pytest.fixture(scope="module")
def fbnet_bundle(tmp_path_factory):
    """The fbnet bundle's manifest with empty packages (see the module docstring)."""
    space = load_space("fbnet")
    entries = collect(space=space)
    shapes = {e.key: [1, *e.out_shape] for e in entries}

    def fake_convert(job):
        kind, key, in_shape, extra, dest, _weights = job
        Path(dest).mkdir(parents=True, exist_ok=True)
        (Path(dest) / "kind").write_text(f"{kind} {key}")

    def fake_shape(path):
        kind, key = (Path(path) / "kind").read_text().split(" ", 1)
        return [1, 1000] if kind == "net" else shapes.get(key) or [1, *extra_shapes[key]]

    extra_shapes = {}
    for e in entries:
        extra_shapes[bundle_mod.overhead_id((1, *e.in_shape), (1, *e.out_shape))] = e.out_shape
    extra_shapes[f"{bundle_mod.NETWORK_CALL}@3x224x224"] = (1000,)
    mp = pytest.MonkeyPatch()
    mp.setattr(bundle_mod, "_convert", fake_convert)
    mp.setattr(bundle_mod, "package_output_shape", fake_shape)
    root = tmp_path_factory.mktemp("fb") / "bundle"
    try:
        manifest = bundle_mod.write_bundle(entries, "iphone11", ["ane"], root, networks=draw(space, 24, 30),
                                           network_io=((3, 224, 224), (1000,)), workers=1)
    finally:
        mp.undo()
    return root, manifest


def test_simulated_fbnet_run_imports_with_correction_and_validation(fbnet_bundle, tmp_path, capsys):
    root, manifest = fbnet_bundle
    m = json.loads(manifest.read_text())
    bundle_mod.validate_manifest(m)
    assert sum("network" in e for e in m["entries"]) >= 54 - 5
    results = tmp_path / "results.jsonl"
    _simulate(root, results)
    out = tmp_path / "iphone11-ane.yaml"
    assert main(["tables", "import", str(results), "--manifest", str(manifest), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    print(printed)
    assert "corrected table:" in printed and "uncorrected sums:" in printed
    table = load_table(out, device="iphone11", unit="ane")
    assert table.method == "simulated" and "SIMULATED" in table.summary()
    p = table.provenance
    assert p["correction"]["calibration_nets"] == 24 and len(p["correction"]["calibration_measured_ms"]) == 24
    v = p["validation"]
    assert v["within_10pct"] >= 0.9, v
    assert v["uncorrected"]["within_10pct"] < v["within_10pct"] and v["uncorrected"]["mape"] > 2 * v["mape"]
    assert p["compute_units"] == "MLComputeUnits.cpuAndNeuralEngine"

    # `nas tables validate --results` re-derives the same figures from the same files
    assert main(["tables", "validate", "--device", "iphone11", "--results", str(results), "--manifest",
                 str(manifest), "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["within_10pct"] == v["within_10pct"] and again["mape"] == v["mape"]


@pytest.mark.slow
def test_simulated_fbnet_bundle_end_to_end_with_real_conversion(tmp_path, capsys):
    b = tmp_path / "fbnet"
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane", "--space", "fbnet", "--out", str(b)]) == 0
    results = tmp_path / "results.jsonl"
    _simulate(b, results)
    out = tmp_path / "t.yaml"
    assert main(["tables", "import", str(results), "--manifest", str(b / "manifest.json"), "--out", str(out)]) == 0
    v = load_table(out).provenance["validation"]
    assert v["within_10pct"] >= 0.9 and v["uncorrected"]["within_10pct"] < v["within_10pct"]


def test_a_simulated_table_never_beats_a_predicted_one(tmp_path, monkeypatch):
    from nas.latency import LatencyTable, Stat, save_table
    from nas.latency.store import find_table
    shipped = find_table("iphone11", "ane")
    assert shipped.method == "predicted"
    fake = LatencyTable("iphone11", "ane", "simulated", {"runtime": "simulated"}, Stat(0.1), dict(shipped.entries))
    save_table(fake, tmp_path / "iphone11-ane.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    assert find_table("iphone11", "ane").method == "predicted"
    fake.method = "measured"
    save_table(fake, tmp_path / "iphone11-ane.yaml")
    assert find_table("iphone11", "ane").method == "measured"


def test_validate_calls_a_table_from_another_machine_stale(tmp_path, monkeypatch, capsys):
    """The shipped local table with its calibration networks' times made 4x slower stands for a table
    measured on a slower machine: re-timing them here drifts far beyond 15 %."""
    import yaml
    from nas.profiling import staleness
    from nas.profiling.measure import Protocol
    from nas.latency.store import SHIPPED_DIR
    data = yaml.safe_load((SHIPPED_DIR / "local-ort_cpu.yaml").read_text())
    corr = data["provenance"]["correction"]
    corr["calibration_measured_ms"] = [v * 4 for v in corr["calibration_measured_ms"]]
    path = tmp_path / "local-ort_cpu.yaml"
    path.write_text(yaml.safe_dump(data))
    from nas.profiling import localrun
    monkeypatch.setattr(staleness, "QUICK", Protocol(warmup_runs=1, min_runs=3, min_time_s=0.0, max_runs=3, passes=1))
    monkeypatch.setattr(localrun, "NET_PROTOCOL", {"min_runs": 3, "min_time_s": 0.0})  # short, not 30 s
    rc = main(["tables", "validate", "--device", "local", "--space", "fbnet", "--samples", "3", "--table", str(path),
               "--min-runs", "3", "--min-time", "0", "--drift-networks", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and "stale for this machine" in err and "nas profile-ops --device local" in err


def test_profile_ops_with_no_selection_covers_every_space_and_zoo_model(tmp_path, monkeypatch, capsys):
    """`nas profile-ops --device iphone11 --unit ane`, as the README writes it (conversion left out)."""
    from nas import zoo
    from nas.arch.resolve import resolve
    from nas.cli import profile_cmd
    from nas.spaces import space_names
    seen = {}

    def fake_write_bundle(entries, device, units, out, *, networks=(), **kw):
        seen.update(entries=entries, device=device, units=units, networks=networks)
        Path(out).mkdir(parents=True)
        (Path(out) / "manifest.json").write_text(json.dumps({"bundle_id": "c" * 64}))
        return Path(out) / "manifest.json"

    monkeypatch.setattr(profile_cmd, "write_bundle", fake_write_bundle)
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    keys = [e.key for e in seen["entries"]]
    assert len(keys) == len(set(keys))
    for name in space_names():
        assert {e.key for e in collect(space=load_space(name))} <= set(keys), name
    for name in zoo.names():
        assert {l.key for l in resolve(zoo.get(name).spec)} <= set(keys), name
    assert f"{len(keys)} unique ops" in out and "about" in out and "min with 2 processes" in out
    roles = [n.role for n in seen["networks"]]
    assert roles.count("calibration") == 24 and {n.space for n in seen["networks"]} == set(space_names())
    assert "results-ane-cccccccccccc.jsonl" in out  # not on a Mac: the printed steps


def test_import_refuses_a_crafted_network_entry(fbnet_bundle, tmp_path, capsys):
    root, manifest = fbnet_bundle
    m = json.loads(manifest.read_text())
    net = next(e for e in m["entries"] if "network" in e)
    net["network"]["role"] = "training"
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(m))
    results = tmp_path / "r.jsonl"
    results.write_text('{"kind": "header"}\n')
    assert main(["tables", "import", str(results), "--manifest", str(bad), "--out", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "role" in err and not (tmp_path / "t.yaml").exists()
