"""How far to trust a prediction: provenance in `nas latency --json`, extrapolation flags (nas.latency.trust)."""

import json

from nas import zoo
from nas.arch.dsl import parse_net
from nas.arch.resolve import resolve
from nas.cli import main
from nas.latency import price_net
from nas.latency.store import find_table
from nas.latency.table import LatencyTable, Stat
from nas.latency.trust import calibration_coverage, extrapolation, provenance_of

TODAY = "coreml-mlprogram-ios16"
OLD_KEYS = {"total_ms", "overhead_ms", "layers", "source", "table", "runtime", "compute_units",
            "compute_units_recorded"}


def _run(capsys, *argv):
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_condensenet_on_todays_ane_is_flagged_off_unit():
    table = find_table("iphone15pro", "ane", TODAY)
    net = zoo.get("condensenet_74_g4").spec
    # independent of nas.latency.trust: read the table entries' unit_used by hand
    used = [table.entries[l.key].extra.get("unit_used") for l in resolve(net)]
    off = [u for u in used if u != "ane"]
    assert len(off) > len(used) / 2
    cov = table.provenance["calibration_coverage"]
    assert cov["calibrated_off_unit"] is False and cov["unit"] == "ane"
    flags = extrapolation(net, price_net(net, table), table)
    units = {f["unit"] for f in flags if f["kind"] == "off_unit"}
    assert max(set(off), key=off.count) in units
    f = next(f for f in flags if f["kind"] == "off_unit")
    assert f["layers"] == off.count(f["unit"]) and f["layers_total"] == len(used)
    assert "no calibration row of this table measures" in f["text"]


def test_mobilenet_v2_a_calibration_model_is_not_flagged():
    net = zoo.get("mobilenet_v2").spec
    for device, runtime in (("iphone13", TODAY), ("iphone11", "coreml-neuralnetwork-ios13")):
        table = find_table(device, "ane", runtime)
        assert extrapolation(net, price_net(net, table), table) == []
    # today's iPhone 11 (A13): no calibration row on its chip, which is the only flag
    table = find_table("iphone11", "ane", TODAY)
    assert [f["kind"] for f in extrapolation(net, price_net(net, table), table)] == ["chip"]


def test_a_chip_without_rows_is_flagged_with_its_assumed_figures():
    """Independent facts: the shared chip file has no Neural Engine figure and no memory bandwidth for the A19
    Pro (the tables assume them), the A13's are published, and the iPhone 13's A15 has 2022+ calibration rows."""
    net = zoo.get("mobilenet_v2").spec
    want = {"iphone17pro": ("A19 Pro", ["bandwidth", "peak"]), "iphoneair": ("A19 Pro", ["bandwidth", "peak"]),
            "iphone11": ("A13", []), "iphone13": None, "iphone15pro": None}
    for device, expect in want.items():
        table = find_table(device, "ane", TODAY)
        flags = [f for f in extrapolation(net, price_net(net, table), table) if f["kind"] == "chip"]
        if expect is None:
            assert flags == [], device
        else:
            assert [(f["chip"], f["assumed"]) for f in flags] == [expect], device
            assert ("assumed, not published" in flags[0]["text"]) == bool(expect[1])
    # the 2020 regime's tables were fitted on their own phones' rows: never flagged for the chip
    for device in ("iphone11", "iphonexs", "iphonex"):
        table = find_table(device, "cpu", "coreml-neuralnetwork-ios13")
        assert not [f for f in extrapolation(net, price_net(net, table), table) if f["kind"] == "chip"]


def test_latency_text_warns_for_an_uncalibrated_chip(capsys):
    out = _run(capsys, "latency", "--model", "mobilenet_v2", "--device", "iphone17", "--unit", "ane")
    assert "warning: no calibration row on this phone's chip (A19)" in out


def test_hand_built_table_gives_the_hand_computed_share():
    net = parse_net("32:conv_k3_s2_c8|conv_k3_s1_c8", name="tiny")
    keys = [l.key for l in resolve(net)]
    entries = {keys[0]: Stat(1.0, extra={"unit_used": "ane"}), keys[1]: Stat(3.0, extra={"unit_used": "cpu"})}
    table = LatencyTable("iphone15pro", "ane", "predicted", {"model": "hand"}, Stat(1.0), entries, runtime=TODAY)
    # coverage from a calibration "network" that stays on the ANE: the first layer alone
    one = parse_net("32:conv_k3_s2_c8", name="one")
    cov = calibration_coverage(table, [one])
    assert cov["calibrated_off_unit"] is False and cov["off_unit_share_max"] == {"cpu": 0.0, "gpu": 0.0}
    assert cov["layers"] == [1, 1] and cov["input_side"] == [32, 32]
    table.provenance["calibration_coverage"] = cov
    flags = extrapolation(net, price_net(net, table), table)
    off = [f for f in flags if f["kind"] == "off_unit"]
    assert len(off) == 1 and off[0]["unit"] == "cpu" and off[0]["share"] == 0.6   # 3 of 1 + 1 + 3 ms
    assert off[0]["layers"] == 1 and off[0]["layers_total"] == 2
    # 2 layers vs a calibrated range of [1, 1]: exactly the factor 2, not "far outside"; MACs are:
    # 8*3*9*16*16 = 55296 calibrated, + 8*8*9*16*16 = 147456 for the second conv: 3.7x
    size = {f["quantity"]: f for f in flags if f["kind"] == "size"}
    assert set(size) == {"macs", "params"} and size["macs"]["value"] == 55296 + 147456
    assert size["macs"]["calibration_range"] == [55296, 55296]
    # a calibration network with the same off-unit share covers it
    table.provenance["calibration_coverage"] = calibration_coverage(table, [net])
    assert [f for f in extrapolation(net, price_net(net, table), table) if f["kind"] == "off_unit"] == []


def test_size_far_outside_the_calibration_range_is_flagged():
    net = parse_net("32:conv_k3_s2_c8|conv_k3_s1_c8", name="tiny")
    entries = {l.key: Stat(1.0, extra={"unit_used": "ane"}) for l in resolve(net)}
    cov = {"unit": "ane", "networks": 3, "off_unit_share_max": {}, "input_side": [96, 224], "layers": [2, 40]}
    table = LatencyTable("iphone15pro", "ane", "predicted", {"calibration_coverage": cov}, Stat(1.0), entries,
                         runtime=TODAY)
    flags = extrapolation(net, price_net(net, table), table)
    # 32 px < 96 / 2: flagged; 2 layers is inside [2, 40]
    assert [(f["kind"], f["quantity"], f["value"]) for f in flags] == [("size", "input_side", 32)]
    assert "below the smallest" in flags[0]["text"]


def test_latency_json_keeps_old_keys_and_says_where_numbers_came_from(capsys):
    out = json.loads(_run(capsys, "latency", "--model", "condensenet_74_g4", "--device", "iphone15pro",
                          "--unit", "ane", "--json"))
    assert OLD_KEYS <= set(out)
    p = out["provenance"]
    assert p["method"] == "predicted" and p["model"] == "nas.latency.costmodel" and p["model_version"]
    cv = p["cross_validated_error"]
    assert cv["median_ape_pct"] > 0 and cv["kind"] == "leave_one_model_out"
    assert set(cv["by_kind"]) >= {"leave_one_model_out", "leave_one_source_out"}
    assert p["calibration"]["rows"] > 40 and "mobilenet_v2_1_224" in p["calibration_models"]
    assert [f for f in out["extrapolation"] if f["kind"] == "off_unit"]
    text = _run(capsys, "latency", "--model", "condensenet_74_g4", "--device", "iphone15pro", "--unit", "ane")
    assert "warning:" in text and "fallback path" in text
    text = _run(capsys, "latency", "--model", "mobilenet_v2", "--device", "iphone15pro", "--unit", "ane")
    assert "warning:" not in text


def test_measured_table_provenance_names_protocol_and_os():
    table = find_table("local", "ort_cpu")
    p = provenance_of(table)
    assert p["method"] == "measured" and p["os"] and p["protocol"]["statistic"] == "median"
    assert "calibration_measured_ms" not in p.get("correction", {})


def test_report_marks_flagged_rows(tmp_path):
    from nas.report.compare import build_comparison
    from nas.report.render import render
    cmp = build_comparison("iphone15pro", "ane", models=("condensenet_74_g4", "mobilenet_v2"), runtime=TODAY)
    assert cmp.row("condensenet_74_g4").extrapolation["ane"][0]["unit"] == "cpu"
    assert "ane" not in cmp.row("mobilenet_v2").extrapolation
    md = render(cmp, tmp_path / "r").read_text()
    row = next(l for l in md.splitlines() if l.startswith("| condensenet_74_g4 |"))
    assert "⚠" in row and "- condensenet_74_g4 (ane): " in md
    assert "⚠" not in next(l for l in md.splitlines() if l.startswith("| mobilenet_v2 |"))


def test_search_summary_flags_the_chosen_network(tmp_path):
    from search_fixtures import config, synthetic_table, tiny_space
    from nas.latency import save_table
    from nas.search.session import execute, prepare
    space_path, space = tiny_space(tmp_path)
    table = synthetic_table(space)
    # a hand-made coverage record: calibrated on 224 px inputs only; the tiny space's input is 32 px
    table.provenance["calibration_coverage"] = {"unit": "ane", "networks": 2, "off_unit_share_max": {},
                                                "input_side": [224, 224]}
    save_table(table, tmp_path / "iphone11-ane.yaml")
    summary = execute(prepare(config((tmp_path, space_path, space, tmp_path / "iphone11-ane.yaml", 1e3))))
    flags = summary["best"]["extrapolation"]
    assert [(f["kind"], f["quantity"], f["value"]) for f in flags] == [("size", "input_side", 32)]
    assert any(n.startswith("warning: the best network's latency extrapolates") for n in summary["notes"])
