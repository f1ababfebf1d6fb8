"""Crafted latency tables whose damage sat in fields the loader let through (hostile-input audit, hostile10).

Each case is a real table with one field edited by hand; the expectation -- the field the refusal names -- is
written by hand too. Before the fix each gave a TypeError/AttributeError traceback where the field was read:
``tables show``, ``latency``, or a search after its trials were written (no summary.json, a half-written
run folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.cli import main
from search_fixtures import tiny_space, write_table
from test_bad_input import files_in, refused

ROOT = Path(__file__).resolve().parents[1]
PREDICTED = ROOT / "latency_tables" / "iphone13-gpu.coreml-mlprogram-ios16.yaml"
LOCAL = ROOT / "latency_tables" / "local-ort_cpu.yaml"
COVERAGE = "    off_unit_share_max:\n      ane: 0.0\n      cpu: 0.0\n    macs:\n    - 11934128\n"
ENTRY = "  conv_k3_s2_c32@3x224x224: {median_ms: 0.2734, unit_used: gpu}\n"


def _edited(tmp_path, src: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text, old
    f = tmp_path / src.name
    f.write_text(text.replace(old, new, 1))
    return f


@pytest.mark.parametrize("old, new, field", [
    (COVERAGE, COVERAGE.replace("- 11934128", "- x"), "provenance.calibration_coverage.macs"),
    (COVERAGE, "    off_unit_share_max: [1]\n    macs:\n    - 11934128\n",
     "provenance.calibration_coverage.off_unit_share_max"),
    (COVERAGE, COVERAGE.replace("ane: 0.0", "ane: x"), "provenance.calibration_coverage.off_unit_share_max.ane"),
    ("  calibration_coverage:\n", "  cross_validation: {loo: {per_device: [1]}}\n  calibration_coverage:\n",
     "provenance.cross_validation.loo.per_device"),
    (ENTRY, ENTRY.replace("unit_used: gpu", "unit_used: [gpu]"), "unit_used"),
], ids=lambda v: v if v.startswith(("prov", "unit")) else "")
def test_predicted_table_fields_read_by_the_trust_flags(tmp_path, capsys, old, new, field):
    f = _edited(tmp_path, PREDICTED, old, new)
    for argv in (["latency", "--model", "mobilenet_v2", "--table", f, "--json"], ["tables", "show", f]):
        refused(capsys, argv, f, f"field {field}:")


@pytest.mark.parametrize("new, field", [
    ("  validation: {within_10pct: x, networks: 3}\n", "provenance.validation.within_10pct"),
    ("  validation: {within_10pct: .nan, networks: 3}\n", "provenance.validation.within_10pct"),
    ("  validation: [1]\n", "provenance.validation"),
    ("  protocol: [thread]\n", "provenance.protocol"),
], ids=lambda v: v if v.startswith("prov") else "")
def test_measured_table_fields_read_by_the_summary(tmp_path, capsys, new, field):
    f = _edited(tmp_path, LOCAL, "  protocol:\n", new + "  protocol_was:\n")
    refused(capsys, ["tables", "show", f], f, f"field {field}:")


@pytest.mark.parametrize("old, new, field", [
    ("    calibration_seed: 1000003\n", "    calibration_seed: x\n", "provenance.correction.calibration_seed"),
    ("    calibration_seed: 1000003\n", "", "provenance.correction.calibration_seed"),
    ("    calibration_measured_ms:\n    - 9.2755\n", "    calibration_measured_ms:\n    - 0\n",
     "provenance.correction.calibration_measured_ms"),
], ids=lambda v: v if v.startswith("prov") else "")
def test_local_table_correction_read_by_the_staleness_check(tmp_path, capsys, old, new, field):
    f = _edited(tmp_path, LOCAL, old, new)
    refused(capsys, ["tables", "show", f], f, f"field {field}:")


def test_search_refuses_the_table_before_writing(tmp_path, capsys):
    """Was: the search ran, wrote trials.jsonl, trials.csv and pareto.png, then a TypeError traceback in the
    chosen network's extrapolation flags: no summary.json."""
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "iphone11-ane.yaml")
    table.write_text(table.read_text().replace("model_version: test", "model_version: test\n"
                                               "  calibration_coverage: {macs: [x, 1]}"))
    refused(capsys, ["search", "--space", space_path, "--table", table, "--target-ms", "50", "--out",
                     tmp_path / "run", "--no-export", "--no-baselines", "--trials", "2"],
            table, "provenance.calibration_coverage.macs")
    assert files_in(tmp_path) == ["iphone11-ane.yaml", "tiny.yaml"]


def test_a_nan_spearman_of_an_imported_table_still_loads(tmp_path):
    """Fields nothing reads stay free: a constant validation set's Spearman is NaN, and that is a fact."""
    from nas.latency import load_table
    f = _edited(tmp_path, LOCAL, "  protocol:\n", "  validation: {within_10pct: 1.0, networks: 3, spearman: .nan, "
                "mape: 0.5}\n  protocol:\n")
    assert load_table(f).provenance["validation"]["within_10pct"] == 1.0


# -- NAS_TABLES_DIR: a folder of crafted tables --------------------------------------------------

def _lut4(device="iphone11", ms=0.25):
    from nas.arch import resolve
    from nas import zoo
    from nas.latency import LatencyTable, Stat
    keys = {l.key for l in resolve(zoo.get("mobilenet_v2").spec)}
    return LatencyTable(device, "ane", "measured", {"hardware": "iPhone12,1"}, Stat(0.5), {k: Stat(ms) for k in keys},
                        weights="lut4")


def test_report_names_a_refused_table_instead_of_dropping_its_unit(tmp_path, capsys, monkeypatch):
    """Was: exit 0, the ane column empty, and the reason ("table is for device 'iphone12'") without the file."""
    from nas.latency import save_table
    mine = tmp_path / "mine"
    save_table(_lut4("iphone12"), mine / "iphone11-ane.lut4.yaml")       # its name says iphone11
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    refused(capsys, ["report", "--model", "mobilenet_v2", "--device", "iphone11", "--out", tmp_path / "rep"],
            mine / "iphone11-ane.lut4.yaml", "field device")
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize("weights", ["lut4", "fp16"])
def test_two_tables_of_one_identity_in_one_folder_are_refused(tmp_path, capsys, monkeypatch, weights):
    """Was: the first file name in sort order priced silently (here: 0.25 ms entries, never the 0.5 ms copy)."""
    from nas.latency import save_table
    mine = tmp_path / "mine"
    for name, ms in (("a", 0.25), ("b", 0.5)):
        t = _lut4(ms=ms)
        t.weights = weights
        save_table(t, mine / f"iphone11-ane.{name}.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    argv = ["latency", "--model", "mobilenet_v2", "--device", "iphone11", "--unit", "ane"]
    line = refused(capsys, argv + (["--compress", weights] if weights != "fp16" else []),
                   mine / "iphone11-ane.b.yaml", mine / "iphone11-ane.a.yaml", "field device", "a second measured")
    assert f"weights {weights}" in line


def test_a_users_table_of_one_identity_still_beats_the_shipped_one(tmp_path, capsys, monkeypatch):
    """One table per identity per folder: the user's measured fp16 table prices, the shipped predicted one not."""
    from nas.latency import save_table
    from nas.latency.store import find_table
    mine = tmp_path / "mine"
    t = _lut4(ms=0.25)
    t.weights = "fp16"
    save_table(t, mine / "iphone11-ane.coreml-mlprogram-ios16.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    assert find_table("iphone11", "ane").path == str(mine / "iphone11-ane.coreml-mlprogram-ios16.yaml")


def test_an_unknown_clock_is_refused_naming_the_file(tmp_path, capsys):
    """hostile11: ``protocol.clock: sundial`` in a local table. Was: ``tables show`` accepted it and ``tables
    validate`` (the staleness check's re-timing) stopped with ``nas: error: clock must be one of thread, wall, got
    'sundial'`` -- no file named. The clocks a table can name are thread and wall (nas/profiling/measure.py)."""
    f = _edited(tmp_path, LOCAL, "    clock: thread\n", "    clock: sundial\n")
    for argv in (["tables", "show", f], ["tables", "validate", "--device", "local", "--table", f, "--samples", "2"]):
        line = refused(capsys, argv, f, "field provenance.protocol.clock:", "'sundial'")
        assert "thread, wall" in line
    assert files_in(tmp_path) == [LOCAL.name]


def _damaged_lut4(tmp_path) -> Path:
    """A lut4 table of iphone11/ane whose first entry's median is -1 (edited by hand after saving)."""
    from nas.latency import save_table
    mine = tmp_path / "mine"
    f = mine / "iphone11-ane.lut4.yaml"
    save_table(_lut4(), f)
    text = f.read_text()
    first = text.index("median_ms: 0.25")
    f.write_text(text[:first] + "median_ms: -1" + text[first + len("median_ms: 0.25"):])
    return f


def test_export_refuses_a_damaged_table_of_its_weights(tmp_path, capsys, monkeypatch):
    """hostile11: ``nas export --compress lut4`` with that table in NAS_TABLES_DIR. Was: exit 0, the package's
    ``nas.latency.iphone11.ane`` said "unavailable: median_ms must not be negative, got -1" (no file named) and
    ``nas.latency_weights`` that no lut4 table existed."""
    f = _damaged_lut4(tmp_path)
    monkeypatch.setenv("NAS_TABLES_DIR", str(f.parent))
    refused(capsys, ["export", "--model", "mobilenet_v2", "--compress", "lut4", "--device", "iphone11", "--out",
                     tmp_path / "m.mlpackage"], f, "field median_ms", "got -1")
    assert not (tmp_path / "m.mlpackage").exists()


def test_search_refuses_a_damaged_export_table_before_writing(tmp_path, capsys, monkeypatch):
    """The search prices on gpu; best.mlpackage's metadata quotes every unit, ane from the damaged lut4 table. Was:
    exit 0 after the search, that unit 'unavailable' in best.mlpackage. Now refused before the output folder."""
    f = _damaged_lut4(tmp_path)
    monkeypatch.setenv("NAS_TABLES_DIR", str(f.parent))
    refused(capsys, ["search", "--space", "nasbench_macro", "--device", "iphone11", "--unit", "gpu", "--target-ms",
                     "50", "--trials", "2", "--no-baselines", "--compress", "lut4", "--out", tmp_path / "run"],
            f, "field median_ms")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("new, line, where", [
    ('  hardware: "AMD EPYC\\x1b[2J"\n', 7, "U+001B at character 9 of 'AMD EPYC\\x1b[2J'"),
    ('  hardware: "AMD\\u202eCYPE"\n', 7, "U+202E at character 4"),
    ('  hardware: AMD EPYC\n  notes: {"a\\x07": 1}\n', 8, "U+0007 at character 2"),
], ids=["escape", "bidi", "key"])
def test_control_characters_in_the_provenance_are_refused(tmp_path, capsys, new, line, where):
    """hostile11: ``tables show`` printed the provenance as it was, so an escape sequence in a shared table ran in
    the reader's terminal (``\\x1b[2J`` clears it). Refused by the YAML loader with its line; newlines and tabs
    in a note stay allowed."""
    f = _edited(tmp_path, LOCAL, "  hardware: AMD EPYC\n", new)
    refused(capsys, ["tables", "show", f], f, f"at line {line}: text with a control character ({where}")
    ok = _edited(tmp_path, LOCAL, "  hardware: AMD EPYC\n", '  hardware: AMD EPYC\n  notes: "two\\n\\tlines"\n')
    assert main(["tables", "show", str(ok)]) == 0


def test_a_table_built_in_code_is_checked_too():
    """A table that never went through YAML (``tables import`` checks the table it built with the loader's
    checks before writing): its provenance text is checked by nas/latency/provcheck.py, naming the field."""
    from nas.latency.table import TableError, table_from_dict
    from nas.latency import load_table
    data = load_table(LOCAL).to_dict()
    data["provenance"]["hardware"] = "AMD\x1b[2J"
    with pytest.raises(TableError, match=r"field provenance.hardware: must be text without control characters "
                       r"\(U\+001B at character 4\)"):
        table_from_dict(data, "built")
    data["provenance"]["hardware"], data["device"] = "AMD", ["local"]
    with pytest.raises(TableError, match=r"field device: device must be a device name .*got \['local'\]"):
        table_from_dict(data, "built")


def test_a_device_that_is_no_name_is_refused(tmp_path, capsys):
    """hostile11: the table's ``device`` was taken as ``str(value)``: a list became the device "['local']"."""
    f = _edited(tmp_path, LOCAL, "device: local\n", "device: [local]\n")
    refused(capsys, ["tables", "show", f], f, "field device:", "got ['local']")
