"""The compute-units setting of a table: recorded, implied for older files, printed by `nas latency`."""

import dataclasses
import json

from nas.cli import main
from nas.latency.costmodel.calibrate import table_name
from nas.latency.regime import ARTICLE_RUNTIME, DEFAULT_RUNTIME
from nas.latency.store import SHIPPED_DIR, find_table
from nas.latency.table import load_table
from nas.latency.units import compute_units


def _today(unit="ane"):
    return load_table(SHIPPED_DIR / table_name("iphone13", unit, DEFAULT_RUNTIME))


def test_todays_predicted_tables_record_the_setting_of_their_calibration_timings():
    # every timing they were fitted to was taken with Core ML's default .all (today_data: REFERENCE_LEVEL, units)
    assert _today("ane").provenance["compute_units"] == "MLComputeUnits.all"
    assert compute_units(_today("ane")) == ("all", True)
    assert compute_units(_today("cpu")) == ("cpuOnly", True) and compute_units(_today("gpu")) == ("cpuAndGPU", True)


def test_older_tables_get_the_setting_their_kind_implies():
    old = load_table(SHIPPED_DIR / table_name("iphone11", "ane", ARTICLE_RUNTIME))
    assert "compute_units" not in old.provenance
    assert compute_units(old) == ("all", False)          # the article's ANE column is .all
    measured = dataclasses.replace(old, method="measured", provenance={})
    assert compute_units(measured) == ("cpuAndNeuralEngine", False)   # the harness's `ane`
    imported = dataclasses.replace(old, method="measured",
                                   provenance={"compute_units": "MLComputeUnits.cpuAndNeuralEngine"})
    assert compute_units(imported) == ("cpuAndNeuralEngine", True)


def test_latency_cli_prints_and_returns_the_setting(capsys, monkeypatch):
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    assert main(["latency", "--model", "mobilenet_v2", "--device", "iphone13", "--unit", "ane", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compute_units"] == "all" and out["compute_units_recorded"] is True
    assert out["runtime"] == DEFAULT_RUNTIME and out["total_ms"] > 0
    assert main(["latency", "--model", "mobilenet_v2", "--device", "iphone13", "--unit", "ane"]) == 0
    assert "compute units .all" in capsys.readouterr().out


def test_unit_all_falls_back_to_the_predicted_all_timed_table(capsys, monkeypatch):
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    assert find_table("iphone15pro", "all").path == find_table("iphone15pro", "ane").path
    assert main(["latency", "--model", "mobilenet_v2", "--device", "iphone15pro", "--unit", "all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compute_units"] == "all"


def test_a_measured_ane_table_wins_ane_but_not_all(tmp_path, monkeypatch, capsys):
    from nas.latency.table import save_table
    shipped = find_table("iphone15pro", "ane")
    measured = dataclasses.replace(shipped, method="measured", path=None,
                                   provenance={"compute_units": "MLComputeUnits.cpuAndNeuralEngine",
                                               "hardware": "iPhone16,1", "os": "iOS 17.5"})
    save_table(measured, tmp_path / "iphone15pro-ane.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    assert find_table("iphone15pro", "ane").method == "measured"
    assert find_table("iphone15pro", "all").path == shipped.path     # the .all-timed predicted table
    assert main(["latency", "--model", "mobilenet_v2", "--device", "iphone15pro", "--unit", "ane", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "measured" and out["compute_units"] == "cpuAndNeuralEngine"
