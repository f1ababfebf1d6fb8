"""nas report: renders, and its figures are the table's sums (by hand for a small network, read from
the table file for the zoo), never a re-run of the pricing function the report calls."""

import json
from pathlib import Path

import pytest
import yaml

from nas import zoo
from nas.arch import parse_net, resolve
from nas.arch.yaml_io import dump_net
from nas.cli import main
from nas.latency import find_table, save_table
from nas.report.compare import build_comparison, load_published
from nas.report.render import pareto_front
from test_latency_table import fake_table

MODELS = ("mobilenet_v2", "fbnet_c", "mobilenet_v3_large")
SEARCHED = "224:conv_k3_s2_c16|ir_k3_s1_e1_c16|ir_r2_k5_s2_e3_c24|ir_k3_s2_e6_c40|gap,fc_c1000"


# The searched network's layers and their latency-table keys, written out by hand (input 224:
# stem to 112, ir_k3_s1 stays at 112, the two ir_k5 repeats at 112 -> 56 and 56, ir_k3_s2 -> 28).
SEARCHED_MS = {  # key -> ms, stage
    "conv_k3_s2_c16@3x224x224": (0.25, 0),
    "ir_k3_s1_e1_c16@16x112x112": (0.5, 1),
    "ir_k5_s2_e3_c24@16x112x112": (1.0, 2),
    "ir_k5_s1_e3_c24@24x56x56": (2.0, 2),
    "ir_k3_s2_e6_c40@24x56x56": (4.0, 3),
    "gap@40x28x28": (8.0, 4),
    "fc_c1000@40x1x1": (16.0, 4),
}
OVERHEAD = {"cpu": 0.3, "gpu": 1.3, "ane": 2.3}
UNIT_SCALE = {"cpu": 1.0, "gpu": 2.0, "ane": 4.0}


@pytest.fixture
def tables(tmp_path, monkeypatch):
    keys = {l.key for n in MODELS for l in resolve(zoo.get(n).spec)}
    d = tmp_path / "tables"
    for unit in ("cpu", "gpu", "ane"):
        t = fake_table(keys, device="iphone11", unit=unit)
        for key, (ms, _) in SEARCHED_MS.items():
            t.entries[key] = type(t.overhead)(ms * UNIT_SCALE[unit], n=20)
        t.overhead = type(t.overhead)(OVERHEAD[unit], n=20)
        save_table(t, d / f"iphone11-{unit}.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(d))
    return d


def _file_sum(table_file, keys):
    """Overhead + the entries of ``keys``, read straight from the table file."""
    raw = yaml.safe_load(table_file.read_text())
    return raw["overhead"]["median_ms"] + sum(raw["entries"][k]["median_ms"] for k in keys)


def search_dir(tmp_path, name, kind, acc):
    d = tmp_path / name
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"best": {"arch": SEARCHED, "latency_ms": 1.5, "accuracy": acc,
                                                         "accuracy_kind": kind}}))
    (d / "best.yaml").write_text(dump_net(parse_net(SEARCHED, name=name)))
    return d


def test_report_renders_and_matches_table_sums(tables, tmp_path, capsys):
    s1 = search_dir(tmp_path, "run1", "top1", 73.0)
    s2 = search_dir(tmp_path, "run2", "proxy_val_acc", 0.42)
    out = tmp_path / "report"
    argv = ["report", "--device", "iphone11", "--unit", "ane", "--out", str(out), "--search-dir", str(s1),
            "--search-dir", str(s2)] + [a for m in MODELS for a in ("--model", m)]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    for f in ("report.md", "report.json", "pareto_cpu.png", "pareto_gpu.png", "pareto_ane.png",
              "stages_ane.png"):
        assert (out / f).stat().st_size > 0, f
    data = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    assert len(data["rows"]) == len(MODELS) + 2
    by_hand = sum(ms for ms, _ in SEARCHED_MS.values())  # 31.75 ms at scale 1
    for unit in ("cpu", "gpu", "ane"):
        stages = [0.0] * 5
        for ms, stage in SEARCHED_MS.values():
            stages[stage] += ms * UNIT_SCALE[unit]
        for name in ("search:run1", "search:run2"):
            row = next(r for r in data["rows"] if r["name"] == name)
            assert row["predicted_ms"][unit] == pytest.approx(OVERHEAD[unit] + by_hand * UNIT_SCALE[unit], abs=1e-9)
            assert row["stage_ms"][unit] == pytest.approx(stages, abs=1e-9)
        assert f"{OVERHEAD[unit] + by_hand * UNIT_SCALE[unit]:.3f}" in md
        for name in MODELS:
            row = next(r for r in data["rows"] if r["name"] == name)
            expected = _file_sum(tables / f"iphone11-{unit}.yaml", [l.key for l in resolve(zoo.get(name).spec)])
            assert row["predicted_ms"][unit] == pytest.approx(expected, abs=1e-9)
            assert sum(row["stage_ms"][unit]) + OVERHEAD[unit] == pytest.approx(expected, abs=1e-9)
            assert f"{expected:.3f}" in md
    mv2 = next(r for r in data["rows"] if r["name"] == "mobilenet_v2")
    assert mv2["published_ms"] == {"cpu": 19.0, "gpu": 18.5, "ane": 5.1} and mv2["accuracy"] == 71.8
    assert "| 5.1 |" in md and "calibration/coreml_iphone_latency_2020.yaml" in md
    proxy = next(r for r in data["rows"] if r["name"] == "search:run2")
    assert not proxy["accuracy_is_top1"] and "proxy_val_acc" in md
    assert "![per-stage latency on ane](stages_ane.png)" in md


def test_missing_table_and_missing_op_are_reported(tmp_path, monkeypatch):
    d = tmp_path / "tables"
    keys = {l.key for l in resolve(zoo.get("mobilenet_v2").spec)}
    save_table(fake_table(keys, device="iphone11", unit="ane"), d / "iphone11-ane.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(d))
    monkeypatch.setattr("nas.latency.store.SHIPPED_DIR", tmp_path / "none")
    cmp = build_comparison("iphone11", "ane", models=("mobilenet_v2", "fbnet_c"))
    assert cmp.tables["gpu"] is None and "no latency table" in cmp.table_notes["gpu"]
    fb = cmp.row("fbnet_c")
    assert fb.predicted_ms["ane"] is None and fb.predicted_note["ane"].startswith("missing op ")
    assert cmp.row("mobilenet_v2").predicted_ms["gpu"] is None


def test_pareto_front():
    pts = [(1.0, 70.0), (1.0, 72.0), (2.0, 71.0), (3.0, 75.0), (2.5, 74.0)]
    assert pareto_front(pts) == [(1.0, 72.0), (2.5, 74.0), (3.0, 75.0)]


def test_published_file_units():
    pub = load_published("iphone11")
    assert pub["efficientnet_b0"] == {"cpu": 30.9, "gpu": 26.0, "ane": 25.3}
    assert load_published("iphone15") == {}


def test_bad_search_dir(tmp_path, tables):
    (tmp_path / "s").mkdir()
    with pytest.raises(Exception, match="summary.json"):
        build_comparison("iphone11", "ane", (str(tmp_path / "s"),), models=("mobilenet_v2",))


def test_report_on_shipped_tables(tmp_path, monkeypatch):
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    cmp = build_comparison("iphone11", "ane")
    files = {unit: find_table("iphone11", unit).path for unit in ("cpu", "gpu", "ane")}
    assert all(f is not None and Path(f).exists() for f in files.values()), files
    raw = {unit: yaml.safe_load(Path(f).read_text()) for unit, f in files.items()}
    assert sum(r.predicted_ms["ane"] is not None for r in cmp.rows) > len(cmp.rows) // 2
    for row in cmp.rows:
        keys = [l.key for l in resolve(row.spec)]
        for unit, table in raw.items():
            if row.predicted_ms[unit] is not None:
                expected = table["overhead"]["median_ms"] + sum(table["entries"][k]["median_ms"] for k in keys)
                assert row.predicted_ms[unit] == pytest.approx(expected, abs=1e-9), (row.name, unit)
            else:
                assert any(k not in table["entries"] for k in keys), (row.name, unit)
    from nas.report.render import render
    assert render(cmp, tmp_path / "r").exists()


def test_report_compress_prices_on_a_lut4_table_where_one_exists(tables, tmp_path, capsys):
    # a hand lut4 ane table (measured, every entry 0.25 ms, overhead 0.5 ms); cpu / gpu have none, so they stay
    # on the fp16 files and say so. MobileNetV2 by hand: stem, 1 + 2 + 3 + 4 + 3 + 3 + 1 inverted residuals,
    # the 1x1 conv, pool and fc: 21 layers -> 0.5 + 21 x 0.25 = 5.75 ms.
    from nas.latency import LatencyTable, Stat
    keys = {l.key for n in MODELS for l in resolve(zoo.get(n).spec)}
    lut4 = LatencyTable("iphone11", "ane", "measured", {"hardware": "iPhone12,1", "os": "iOS 17.5"}, Stat(0.5),
                        {k: Stat(0.25) for k in keys}, weights="lut4")
    save_table(lut4, tables / "iphone11-ane.lut4.yaml")
    cmp = build_comparison("iphone11", "ane", models=("mobilenet_v2",), weights="lut4")
    row = cmp.row("mobilenet_v2")
    assert row.predicted_ms["ane"] == pytest.approx(5.75)
    keys_v2 = [l.key for l in resolve(zoo.get("mobilenet_v2").spec)]
    assert row.predicted_ms["cpu"] == pytest.approx(_file_sum(tables / "iphone11-cpu.yaml", keys_v2))
    assert "note:" not in cmp.table_notes["ane"]
    assert all("no latency table of lut4 weights for iphone11/" + u in cmp.table_notes[u] for u in ("cpu", "gpu"))
    assert main(["report", "--device", "iphone11", "--model", "mobilenet_v2", "--compress", "lut4",
                 "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "iphone11-ane.lut4.yaml" in out and out.count("price fp16 weights") == 2
    plain = build_comparison("iphone11", "ane", models=("mobilenet_v2",))   # without --compress: fp16 as before
    assert plain.row("mobilenet_v2").predicted_ms["ane"] == pytest.approx(_file_sum(tables / "iphone11-ane.yaml",
                                                                                    keys_v2))
