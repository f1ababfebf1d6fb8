"""A latency table's weight format (``weights``) as part of its identity, beside device, unit and runtime.

Checked against facts the code does not produce: the shipped tables' own bytes (loading and saving them
again must give the same file: no ``weights`` field appears in an fp16 table), hand-written tables with
hand-chosen timings, and hostile ``weights`` values refused through the real CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.cli import main
from nas.latency import LatencyTable, Stat, TableError, find_table, load_table, save_table
from nas.latency.regime import ARTICLE_RUNTIME
from nas.latency.store import SHIPPED_DIR, find_priced

KEY = "conv_k3_s2_c8@3x32x32"


def table(weights="fp16", method="measured", ms=1.0, device="iphone11", unit="ane", runtime=None):
    return LatencyTable(device, unit, method, {"hardware": "iPhone12,1"}, Stat(0.25), {KEY: Stat(ms)},
                        runtime=runtime, weights=weights)


@pytest.mark.parametrize("path", sorted(SHIPPED_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_tables_are_fp16_and_unchanged_by_a_round_trip(path, tmp_path):
    """Every shipped table reads as fp16 and saves back byte for byte (the field is written only when
    it is not fp16, so no shipped file changes)."""
    t = load_table(path)
    assert t.weights == "fp16"
    assert "\nweights:" not in path.read_text()
    save_table(t, tmp_path / path.name)
    assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_weights_round_trip_and_summary(tmp_path):
    p = tmp_path / "iphone11-ane.lut4.yaml"
    save_table(table("lut4", ms=0.75), p)
    text = p.read_text()
    assert "runtime: coreml-mlprogram-ios16\nweights: lut4\n" in text
    t = load_table(p)
    assert (t.weights, t.ms(KEY)) == ("lut4", 0.75)
    assert "weights lut4" in t.summary()
    with pytest.raises(TableError) as e:
        load_table(p, weights="fp16")                 # a lut4 table does not price fp16 weights
    assert e.value.field == "weights"
    assert load_table(p, weights="fp16", allow_mismatch=True).weights == "lut4"


def test_tables_show_says_the_weight_format(tmp_path, capsys):
    import json
    p = tmp_path / "t.yaml"
    save_table(table("int8"), p)
    assert main(["tables", "show", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] == "int8"
    assert main(["tables", "show", str(SHIPPED_DIR / "iphone11-ane.coreml-mlprogram-ios16.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] == "fp16"


def test_find_table_picks_by_weight_format(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    monkeypatch.setattr("nas.latency.store.SHIPPED_DIR", tmp_path / "none")
    save_table(table("fp16", method="predicted", ms=2.0), tmp_path / "iphone11-ane.yaml")
    # No lut4 table: find_table refuses, naming the command that measures one; find_priced prices on
    # fp16 and says so.
    with pytest.raises(TableError) as e:
        find_table("iphone11", "ane", weights="lut4")
    assert "--compress lut4" in str(e.value) and e.value.field == "weights"
    t, note = find_priced("iphone11", "ane", weights="lut4")
    assert (t.weights, t.ms(KEY)) == ("fp16", 2.0) and "price fp16 weights" in note
    assert find_priced("iphone11", "ane")[1] is None
    # A measured lut4 table: it prices lut4, and never fp16 (even though it is measured and the fp16 one
    # only predicted).
    save_table(table("lut4", ms=0.5), tmp_path / "iphone11-ane.lut4.yaml")
    assert find_table("iphone11", "ane", weights="lut4").ms(KEY) == 0.5
    assert find_table("iphone11", "ane").ms(KEY) == 2.0
    t, note = find_priced("iphone11", "ane", weights="lut4")
    assert (t.weights, t.ms(KEY), note) == ("lut4", 0.5, None)
    assert find_priced("iphone11", "ane", weights="int8")[0].weights == "fp16"   # another format: fp16


LONG = "lut4" * 5000


@pytest.mark.parametrize("line, why", [
    ("weights: lut3", "must be one of fp16, int8, lut8, lut6, lut4"),
    ("weights: LUT4", "must be one of"),
    ("weights: 4", "must be one of"),
    ("weights: null", "must be one of"),
    ("weights: [lut4]", "must be one of"),
    ("weights: {a: 1}", "must be one of"),
    (f"weights: {LONG}", "characters"),
    ("weights: lut4\nweights: int8", "duplicate"),
])
def test_hostile_weights_refused(tmp_path, capsys, line, why):
    p = tmp_path / "t.yaml"
    save_table(table(), p)
    p.write_text(p.read_text().replace("runtime: coreml-mlprogram-ios16\n", f"runtime: coreml-mlprogram-ios16\n{line}\n"))
    assert main(["latency", "--arch", "32:conv_k3_s2_c8", "--table", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas: error:") and str(p) in err and why in err and "Traceback" not in err
    assert len(err) < 2000


@pytest.mark.parametrize("kw, why", [
    (dict(method="predicted"), "predicted tables price fp16 weights only"),
    (dict(unit="ort_cpu", device="local"), "runs no Core ML weight compression"),
    (dict(runtime=ARTICLE_RUNTIME), "need an ML program regime"),
])
def test_compressed_weights_only_where_they_can_be_measured(tmp_path, capsys, kw, why):
    p = tmp_path / "t.yaml"
    save_table(table("lut4", **kw), p)
    assert main(["latency", "--arch", "32:conv_k3_s2_c8", "--table", str(p), "--allow-other-device"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas: error:") and str(p) in err and "weights" in err and why in err
