"""Core ML profiling bundles and the Python <-> Swift contract (ios_profiler/schema)."""

import json
import os
import shutil
import subprocess

import pytest

from nas.cli import main
from nas.errors import NasError
from nas.latency import load_table
from nas.profiling.bundle import NETWORK_CALL, SCHEMA_DIR, validate_manifest, write_bundle
from nas.profiling.importer import SWIFT_DIR, import_results, read_results
from nas.profiling.ops import collect

OPS = ["ir_k3_s1_e1_c184_g2@184x7x7", "skip_s1_c184@184x7x7", "ir_k3_s2_e1_c32@24x56x56"]
EXAMPLES = SCHEMA_DIR / "examples"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("b") / "bundle"
    calls = []
    manifest = write_bundle(collect(keys=OPS), "iphone11", ["ane"], root, network_io=((184, 7, 7), (10,)),
                            hook=calls.append)
    return root, manifest, len(calls)


def test_bundle_manifest_and_packages(bundle):
    import coremltools as ct
    root, manifest_path, converted = bundle
    m = json.loads(manifest_path.read_text())
    validate_manifest(m)
    assert m["device"] == "iphone11" and m["hardware_ids"] == ["iPhone12,1"] and m["units"] == ["ane"]
    keys = [e["key"] for e in m["entries"]]
    assert keys == OPS + [f"{NETWORK_CALL}@184x7x7"]
    shapes = {e.key: e for e in collect(keys=OPS)}
    overheads = {o["id"]: o for o in m["overheads"]}
    for e in m["entries"]:
        model = ct.models.MLModel(str(root / e["file"]), skip_model_load=True)
        spec = model.get_spec().description
        assert [tuple(i.type.multiArrayType.shape) for i in spec.input] == [tuple(e["inputs"][0]["shape"])]
        assert [tuple(o.type.multiArrayType.shape) for o in spec.output] == [tuple(e["outputs"][0]["shape"])]
        assert spec.input[0].name == "x" and spec.output[0].name == "y"
        if e["key"] in shapes:
            op = shapes[e["key"]]
            assert e["inputs"][0]["shape"] == [1, *op.in_shape] and e["outputs"][0]["shape"] == [1, *op.out_shape]
            o = overheads[e["overhead"]]
            assert o["inputs"] == e["inputs"] and o["outputs"] == e["outputs"]
            assert (root / o["file"]).is_dir()
    assert converted == len(m["entries"]) + len(m["overheads"])


def test_bundle_resume_converts_nothing_twice(bundle):
    root, manifest_path, _ = bundle
    with pytest.raises(NasError, match="--resume"):
        write_bundle(collect(keys=OPS), "iphone11", ["ane"], root)
    calls = []
    again = write_bundle(collect(keys=OPS), "iphone11", ["ane"], root, network_io=((184, 7, 7), (10,)),
                         resume=True, hook=calls.append)
    assert calls == []
    assert json.loads(again.read_text())["bundle_id"] == json.loads(manifest_path.read_text())["bundle_id"]


def test_example_files_follow_the_schema():
    validate_manifest(json.loads((EXAMPLES / "manifest.json").read_text()))
    rows = read_results(EXAMPLES / "results.jsonl")
    assert [r["kind"] for r in rows][0] == "header" and rows[-1]["kind"] == "footer"


def _example_manifest(tmp_path, **changes):
    m = json.loads((EXAMPLES / "manifest.json").read_text()) | changes
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(m))
    return path


def test_import_example_results(tmp_path):
    table, notes = import_results(EXAMPLES / "results.jsonl", _example_manifest(tmp_path))
    assert set(table.entries) == {"ir_c24_k3_s2_e6@16x112x112", "ir_c24_k5_s1_e3@24x56x56", "skip@24x56x56"}
    e = table.entries["ir_c24_k3_s2_e6@16x112x112"]
    assert e.median_ms == 0.2811 and e.extra["unit_used"] == "ane" and e.n == 2000
    p = table.provenance
    assert (table.device, table.unit, p["hardware"], p["os"], p["runtime"]) == (
        "iphone11", "ane", "iPhone12,1", "iOS 17.5", "Core ML")
    assert p["protocol"]["min_runs"] == 50 and p["date"] == "2026-11-28"
    assert any("network" in n for n in notes)


def test_import_refuses_results_from_another_device(tmp_path, capsys):
    manifest = _example_manifest(tmp_path, device="iphonexs", hardware_ids=["iPhone11,2"])
    with pytest.raises(NasError, match="iPhone12,1"):
        import_results(EXAMPLES / "results.jsonl", manifest)
    out = tmp_path / "t.yaml"
    assert main(["tables", "import", str(EXAMPLES / "results.jsonl"), "--manifest", str(manifest),
                 "--out", str(out)]) == 2
    assert "iPhone12,1" in capsys.readouterr().err and not out.exists()


def test_import_refuses_a_bad_line(tmp_path):
    lines = (EXAMPLES / "results.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace('"latency_ms": 0.2811', '"latency_ms": -1')
    bad = tmp_path / "r.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(NasError, match="line 4.*latency_ms"):
        read_results(bad)


def _swift() -> str | None:
    found = shutil.which("swift")
    if found:
        return found
    return "/opt/swift/usr/bin/swift" if os.access("/opt/swift/usr/bin/swift", os.X_OK) else None


def test_swift_harness_simulated_run_imports(bundle, tmp_path):
    """Issue 5's integration test: bundle -> Linux nas-profiler --simulate -> nas tables import."""
    root, manifest_path, _ = bundle
    exe = SWIFT_DIR / ".build" / "debug" / "nas-profiler"
    if not exe.exists():
        swift = _swift()
        if swift is None:
            pytest.skip("no Swift toolchain (swift on PATH or /opt/swift/usr/bin): cannot build nas-profiler")
        r = subprocess.run([swift, "build"], cwd=SWIFT_DIR, capture_output=True, text=True, timeout=1200)
        assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([str(exe), "validate-bundle", str(root)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    results = tmp_path / "results.jsonl"
    r = subprocess.run([str(exe), "profile", str(root), "--unit", "ane", "--out", str(results), "--simulate"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "iphone11-ane.yaml"
    assert main(["tables", "import", str(results), "--manifest", str(manifest_path), "--out", str(out)]) == 0
    table = load_table(out, device="iphone11", unit="ane")
    manifest = json.loads(manifest_path.read_text())
    op_keys = {e["key"] for e in manifest["entries"] if not e["key"].startswith(NETWORK_CALL)}
    assert set(table.entries) == op_keys == set(OPS)
    assert table.provenance["runtime"] == "simulated" and table.overhead.median_ms > 0
    assert all(e.median_ms > 0 for e in table.entries.values())


def test_interrupt_ends_the_conversions_before_the_bundle_lock_is_released(tmp_path):
    """Regression (docs walk-through): after an interrupt, `nas profile-ops --device iphone11` printed
    "interrupted" and released the bundle's lock while its conversion processes went on writing packages
    (in the walk-through, twice under `timeout -s INT`, for minutes, through the whole queue). Now the queue
    is dropped and the workers are ended first: nothing is written once the lock is free."""
    import signal
    import sys
    import time
    from nas.spaces import load_space
    keys = [e.key for e in collect(space=load_space("fbnet"))]
    out = tmp_path / "b"
    proc = subprocess.Popen([sys.executable, "-m", "nas", "profile-ops", "--device", "iphone11", "--unit", "ane",
                             "--ops", *keys[:80], "--calibrate", "0", "--validate", "0", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not any((out / "ops").glob("*.mlpackage")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stdout.read()[-2000:]
    packages = lambda: sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mlpackage"))  # noqa: E731
    proc.send_signal(signal.SIGINT)                       # the command alone, as `kill -INT` or a job manager
    while (out / ".nas.lock").exists() and proc.poll() is None:
        time.sleep(0.02)
    at_release = packages()
    try:
        log, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("still running a minute after the interrupt")
    assert proc.returncode in (130, -signal.SIGINT) and "interrupted" in log, log[-2000:]
    time.sleep(2)
    assert packages() == at_release                       # nothing written after the lock was released
    assert not list(out.rglob(".tmp*"))                   # a stopped conversion leaves no temporary folder


def test_conversion_draws_no_bars_of_its_own(tmp_path, capsys):
    """coremltools draws a tqdm bar per conversion step; under profile-ops' own bar they broke its line
    into fragments (seen in a terminal), so conversions run with them off (nas.coreml_log.quiet_progress)."""
    from nas.profiling.bundle import _convert
    assert _convert(("op", "skip_s1_c8@8x8x8", (8, 8, 8), None, str(tmp_path / "op.mlpackage"), "fp16")) == [1, 8, 8, 8]
    err = capsys.readouterr().err
    assert "Converting PyTorch Frontend" not in err and "Running MIL" not in err, err


def _report_and_sleep(path: str) -> None:
    import time
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_ends_running_workers_and_only_them(tmp_path):
    """``_stop`` ends the pool's workers mid-job (``shutdown`` alone waits for a running conversion) and no
    other child: the workers' own PIDs, written by the jobs, are gone; an older child lives on."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor
    from nas.profiling.bundle import _stop
    ctx = multiprocessing.get_context("fork")
    other = ctx.Process(target=time.sleep, args=(120,))
    other.start()
    try:
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
        files = [tmp_path / f"w{i}" for i in range(2)]
        for f in files:
            pool.submit(_report_and_sleep, str(f))
        deadline = time.monotonic() + 30
        while not all(f.exists() and f.read_text() for f in files) and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = {int(f.read_text()) for f in files}
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        (tmp_path / "x" / ".tmp1").mkdir(parents=True)
        t0 = time.monotonic()
        _stop(pool, tmp_path, before)
        assert time.monotonic() - t0 < 10 and not any(_alive(p) for p in pids)
        assert other.is_alive() and not (tmp_path / "x" / ".tmp1").exists()
    finally:
        other.terminate()
        other.join()
