"""Runtime regime as part of a table's identity; the device registry's chip facts against the shared spec file."""

import math
from pathlib import Path

import pytest
import yaml

from nas.errors import NasError
from nas.hardware.devices import DEVICES, get_device
from nas.latency import LatencyTable, Stat, TableError, load_table, save_table
from nas.latency.costmodel.priors import prior_for
from nas.latency.regime import ARTICLE_RUNTIME, DEFAULT_RUNTIME, regime_for
from nas.latency.store import find_table

SHARED_SPECS = next((d / "shared" / "data" / "apple_soc_specs.yaml" for d in Path(__file__).resolve().parents
                     if (d / "shared" / "data" / "apple_soc_specs.yaml").exists()), Path("missing"))
LOCAL_SPECS = Path(__file__).resolve().parents[1] / "calibration" / "apple_soc_specs.yaml"


def table(runtime=None, device="iphone13", unit="ane", method="predicted", ms=1.0):
    return LatencyTable(device, unit, method, {"model": "test"}, Stat(0.5), {"conv@3x8x8": Stat(ms)},
                        runtime=runtime)


def test_runtime_round_trips_and_is_required(tmp_path):
    p = tmp_path / "t.yaml"
    save_table(table(ARTICLE_RUNTIME), p)
    assert load_table(p).runtime == ARTICLE_RUNTIME
    text = p.read_text()
    p.write_text(text.replace(f"runtime: {ARTICLE_RUNTIME}\n", ""))
    with pytest.raises(TableError) as e:
        load_table(p)
    assert "runtime" in str(e.value) and str(p) in str(e.value)


@pytest.mark.parametrize("bad", ["coreml", "coreml-mlprogram", "Core ML 7", "coreml-mlprogram-ios16; rm -rf", "42"])
def test_bad_runtime_refused(tmp_path, bad):
    p = tmp_path / "t.yaml"
    save_table(table(DEFAULT_RUNTIME), p)
    p.write_text(p.read_text().replace(f"runtime: {DEFAULT_RUNTIME}", f"runtime: '{bad}'"))
    with pytest.raises(TableError) as e:
        load_table(p)
    assert e.value.field == "runtime"


def test_local_unit_needs_its_runtime(tmp_path):
    p = tmp_path / "t.yaml"
    save_table(LatencyTable("local", "ort_cpu", "measured", {}, Stat(0.1), {}), p)
    assert load_table(p).runtime == "onnxruntime"
    p.write_text(p.read_text().replace("runtime: onnxruntime", f"runtime: {DEFAULT_RUNTIME}"))
    with pytest.raises(TableError):
        load_table(p)


def test_load_refuses_another_regime(tmp_path):
    p = tmp_path / "t.yaml"
    save_table(table(ARTICLE_RUNTIME), p)
    with pytest.raises(TableError) as e:
        load_table(p, runtime=DEFAULT_RUNTIME)
    assert e.value.field == "runtime"
    assert load_table(p, runtime=DEFAULT_RUNTIME, allow_mismatch=True).runtime == ARTICLE_RUNTIME


def test_find_table_picks_by_regime(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    monkeypatch.setattr("nas.latency.store.SHIPPED_DIR", tmp_path / "none")
    save_table(table(ARTICLE_RUNTIME, ms=9.0), tmp_path / f"iphone13-ane.{ARTICLE_RUNTIME}.yaml")
    with pytest.raises(TableError) as e:
        find_table("iphone13", "ane")        # default: the exporter's regime, which is absent
    assert ARTICLE_RUNTIME in str(e.value) and "--runtime" in str(e.value)
    assert find_table("iphone13", "ane", ARTICLE_RUNTIME).ms("conv@3x8x8") == 9.0
    save_table(table(DEFAULT_RUNTIME, ms=1.0), tmp_path / f"iphone13-ane.{DEFAULT_RUNTIME}.yaml")
    save_table(table(DEFAULT_RUNTIME, method="measured", ms=2.0), tmp_path / "iphone13-ane.yaml")
    t = find_table("iphone13", "ane")
    assert t.runtime == DEFAULT_RUNTIME and t.method == "measured"     # measured wins within a regime
    assert "runtime coreml-mlprogram-ios16" in t.summary()


def test_regime_from_format_and_os():
    assert regime_for("mlprogram", "iOS 17.5") == DEFAULT_RUNTIME
    assert regime_for("mlprogram", "iOS 16.6.1") == DEFAULT_RUNTIME
    assert regime_for("mlprogram", "iOS 15.2") == "coreml-mlprogram-ios15"
    assert regime_for("neuralnetwork", "iOS 13.5.1") == ARTICLE_RUNTIME
    assert regime_for("mlprogram", "macOS 14.4") == "coreml-mlprogram-macos14"
    with pytest.raises(NasError):
        regime_for("mlprogram", "Android 14")


def _specs(path):
    return yaml.safe_load(Path(path).read_text())["chips"]


@pytest.mark.parametrize("name,chip", [("iphone12", "A14"), ("iphone13", "A15"), ("iphone14", "A15"),
                                       ("iphone15", "A16"), ("iphone15pro", "A17_Pro")])
def test_new_devices_use_the_shared_chip_facts(name, chip):
    if not SHARED_SPECS.exists():
        pytest.skip(f"shared spec file not found at {SHARED_SPECS}")
    shared, local = _specs(SHARED_SPECS)[chip], _specs(LOCAL_SPECS)[chip]
    dev = get_device(name)
    assert dev.chip == chip and dev.ane_for_third_party
    assert dev.marketing in shared["devices"]["value"]          # the spec file lists this phone on this chip
    for key in ("cpu_performance_cores", "cpu_max_clock_ghz", "gpu_cores", "ne_peak_ops_per_s",
                "memory_bandwidth_gb_s"):
        assert local[key]["value"] == shared[key]["value"], key   # the calibration copy is faithful
    # the prior's CPU peak is the spec file's cores x clock x 32 FLOP/cycle (A17 Pro: no clock, A16's assumed)
    ghz = shared["cpu_max_clock_ghz"]["value"] or _specs(SHARED_SPECS)["A16"]["cpu_max_clock_ghz"]["value"]
    cpu = prior_for(name, "cpu")
    assert math.exp(cpu.mean["peak"]) == pytest.approx(shared["cpu_performance_cores"]["value"] * ghz * 1e9 * 32 * 0.5)
    ane = prior_for(name, "ane")
    ops = shared["ne_peak_ops_per_s"]["value"] / (2 if chip == "A17_Pro" else 1)
    assert math.exp(ane.mean["peak"]) == pytest.approx(ops * 0.2)


def test_a15_gpu_cores_per_phone():
    assert get_device("iphone13").gpu_cores == 4 and get_device("iphone13pro").gpu_cores == 5
    assert all(d.chip != "A15" or d.gpu_cores in (4, 5) for d in DEVICES.values())


def test_phones_sharing_tables_have_the_same_chip_figures():
    from nas.hardware.devices import SAME_FIGURES
    for phone, twin in SAME_FIGURES.items():
        a, b = get_device(phone), get_device(twin)
        assert (a.chip, a.gpu_cores, a.ane_for_third_party) == (b.chip, b.gpu_cores, b.ane_for_third_party), phone
        assert twin not in SAME_FIGURES
    for unit in ("cpu", "gpu", "ane"):
        assert prior_for("iphone12pro", unit).mean == prior_for("iphone12", unit).mean
