"""One regression test per finding of the hostile-input fuzzer (tests/test_fuzz_inputs.py).

Each crafted file once gave a traceback (RecursionError, TypeError, OverflowError, ValueError) or was
accepted silently; each expectation below is the field the refusal must name, written by hand
(docs/robustness.md lists the findings).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nas.cli import main
from nas.errors import NasError
from search_fixtures import tiny_space, write_table
from test_bad_input import files_in, refused

ROOT = Path(__file__).resolve().parents[1]
FBNET = (ROOT / "search_spaces" / "fbnet.yaml").read_text()
TIMINGS = (ROOT / "calibration" / "coreml_iphone_latency_2020.yaml").read_text()


def _write(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


# -- YAML: one strict loader (nas/safeyaml.py) ----------------------------------------------------

@pytest.mark.parametrize("depth", [2000, 100_000])
def test_yaml_nested_too_deeply(tmp_path, capsys, depth):
    f = _write(tmp_path, "deep.yaml", "[" * depth + "]" * depth)       # was: RecursionError
    assert "nesting depth" in refused(capsys, ["arch", "show", f], f)
    refused(capsys, ["spaces", "show", f], f)
    refused(capsys, ["tables", "show", f], f)


def test_yaml_duplicate_key(tmp_path, capsys):
    f = _write(tmp_path, "net.yaml", "name: n\ninput_size: 32\ninput_size: 64\nstages: [[conv_k3_s2_c8]]\n")
    assert "duplicate key 'input_size'" in refused(capsys, ["arch", "show", f], f, "line 3")  # was: 64, silently


def test_yaml_alias_bomb(tmp_path, capsys):
    levels = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
    f = _write(tmp_path, "space.yaml", FBNET.replace("description:", levels + "notes: *i\ndescription:", 1))
    assert "alias of a list or mapping" in refused(capsys, ["spaces", "show", f], f)


def test_yaml_scalar_aliases_still_load():
    from nas import safeyaml
    assert safeyaml.load("a: &s text\nb: *s\n") == {"a": "text", "b": "text"}


def test_yaml_unquoted_date_is_kept_as_text(tmp_path, capsys):
    """``date: 2026-11-28`` written by hand (the tables quote it) was a ``datetime.date``: ``tables show --json``
    then failed with a TypeError traceback."""
    text = (ROOT / "latency_tables" / "local-ort_cpu.yaml").read_text()
    assert "date: '2026-11-28'" in text
    f = _write(tmp_path, "local-ort_cpu.yaml", text.replace("date: '2026-11-28'", "date: 2026-11-28"))
    assert main(["tables", "show", "--json", str(f)]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["date"] == "2026-11-28"


@pytest.mark.parametrize("value", ["!!binary AAAA", "!!set {a, b}", "!!omap [{a: 1}]", "!!pairs [{a: 1}]"])
def test_yaml_values_that_are_not_json_are_refused(tmp_path, capsys, value):
    """bytes, sets and ordered pairs are no value of any nas file; they failed later, where the data was
    printed or written as JSON (``tables show --json``: TypeError traceback)."""
    text = (ROOT / "latency_tables" / "local-ort_cpu.yaml").read_text()
    f = _write(tmp_path, "local-ort_cpu.yaml", text.replace("  cpus: 2\n", f"  cpus: 2\n  blob: {value}\n"))
    tag = value.split()[0]
    assert f"value tagged {tag} is not allowed" in refused(capsys, ["tables", "show", "--json", f], f, "line 9")
    refused(capsys, ["arch", "show", _write(tmp_path, "net.yaml", f"description: {value}\n" + (
        ROOT / "nas" / "zoo" / "models" / "mobilenet_v2.yaml").read_text())], "net.yaml", tag)


def test_space_kind_of_the_wrong_type(tmp_path, capsys):
    f = _write(tmp_path, "space.yaml", FBNET.replace("kind: layerwise", "kind: [layerwise]"))
    refused(capsys, ["spaces", "show", f], f, "field kind")                      # was: TypeError


# -- JSON nested too deeply -----------------------------------------------------------------------

def test_summary_json_nested_too_deeply(tmp_path, capsys):
    d = tmp_path / "search"
    d.mkdir()
    (d / "summary.json").write_text("[" * 100_000 + "]" * 100_000)           # was: RecursionError
    refused(capsys, ["report", "--search-dir", d, "--model", "mobilenet_v2", "--out", tmp_path / "r"],
            "summary.json", "nested too deeply")
    assert not (tmp_path / "r").exists()


def test_json_lines_nested_too_deeply_are_refused(tmp_path):
    from nas.jsonlog import read_log
    f = _write(tmp_path, "x.jsonl", '{"a": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(NasError, match=r"x.jsonl: line 2: not JSON \(JSON nested too deeply\)"):
        read_log(f, "a log")


# -- calibration timings --------------------------------------------------------------------------

@pytest.mark.parametrize("old,new,field", [
    ("iphone11: [0.0079,", "iphone11: [1.0e+308,", "models.squeezenet_v1_1.iphone11.cpu"),   # was: inf ms, fitted
    ("iphone11: [0.0079,", "iphone11: [" + "9" * 400 + ",", "models.squeezenet_v1_1.iphone11.cpu"),  # OverflowError
    ("input: 227", "input: big", "models.squeezenet_v1_1.input"),                              # ValueError
    ("input: 227", "input: 227\n    arch: ../../etc/x.yaml", "models.squeezenet_v1_1.arch"),   # read outside
    ("input: 227", "input: 227\n    arch: /etc/x.yaml", "models.squeezenet_v1_1.arch"),
    ("input: 227", "input: 227\n    family: [a]", "models.squeezenet_v1_1.family"),
    ("models:", "time_unit: [s]\nmodels:", "field time_unit"),                                 # TypeError
])
def test_calibration_timings_fields(tmp_path, capsys, old, new, field):
    f = _write(tmp_path, "timings.yaml", TIMINGS.replace(old, new, 1))
    out = tmp_path / "tables"
    refused(capsys, ["tables", "calibrate", "--data", f, "--out-dir", out, "--report", tmp_path / "r.json",
                     "--no-cv"], f, field)
    assert files_in(tmp_path) == ["timings.yaml"]


@pytest.mark.parametrize("row,field", [("{model: mobilenet_v2, width: [1], input: 224, ane_ms: 3}", "width"),
                                       ("{model: vgg16, input: '224', ane_ms: 3}", "input")])
def test_public_timings_fields(tmp_path, capsys, row, field):
    f = _write(tmp_path, "public.yaml", f"sources:\n  - id: chernykh_zoo_iphone11pro\n    rows: [{row}]\n")
    refused(capsys, ["tables", "calibrate", "--add", f, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json",
                     "--no-cv"], f, f"rows[0].{field}")
    assert not (tmp_path / "o").exists()


# -- a search run folder --------------------------------------------------------------------------

@pytest.fixture
def run_folder(tmp_path):
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "iphone11-ane.yaml")
    out = tmp_path / "run"
    argv = ["search", "--space", space_path, "--table", table, "--target-ms", "50", "--out", out, "--no-export",
            "--no-baselines", "--trials"]
    assert main([str(a) for a in argv + ["2"]]) == 0
    return out, [str(a) for a in argv + ["3", "--resume"]]


@pytest.mark.parametrize("edit,words", [
    (lambda r: r["metrics"].pop("accuracy"), "needs 'accuracy'"),                 # was: TypeError in pareto
    (lambda r: r["metrics"].update(latency_ms=float("nan")), "finite"),           # was: accepted
    (lambda r: r["metrics"].update(latency_ms=10**400), "finite"),
    (lambda r: r.update(choices=[0, 0, 0, 1]), "another search"),                 # did not name the log
])
def test_trial_log_records(run_folder, capsys, edit, words):
    out, resume = run_folder
    log = out / "trials.jsonl"
    lines = log.read_text().splitlines()
    rec = json.loads(lines[1])
    edit(rec)
    log.write_text("\n".join([lines[0], json.dumps(rec)] + lines[2:]) + "\n")
    refused(capsys, resume, log, words)


def test_summary_records_portable_table_paths(run_folder, tmp_path, capsys):
    out, _ = run_folder
    table = json.loads((out / "summary.json").read_text())["table"]
    assert table["path"] == "iphone11-ane.yaml" and len(table["sha256"]) == 64   # not /tmp/...; sha256 beside it
    from nas.fsutil import portable_path
    shipped = ROOT / "latency_tables" / "iphone11-ane.coreml-mlprogram-ios16.yaml"
    assert portable_path(shipped) == "latency_tables/iphone11-ane.coreml-mlprogram-ios16.yaml"
    # An older summary (absolute path of another machine) still reads.
    summary = json.loads((out / "summary.json").read_text())
    summary["table"]["path"] = "/Users/someone/nas/latency_tables/iphone11-ane.yaml"
    (out / "summary.json").write_text(json.dumps(summary))
    assert main(["report", "--search-dir", str(out), "--model", "mobilenet_v2", "--out", str(tmp_path / "rep")]) == 0
    assert str(ROOT) not in (tmp_path / "rep" / "report.md").read_text()


def test_trial_log_that_is_a_directory(run_folder, capsys):
    out, resume = run_folder
    log = out / "trials.jsonl"
    log.unlink()
    log.mkdir()                                                                   # was: IsADirectoryError
    refused(capsys, resume, log, "cannot read")


# -- export labels, device results ----------------------------------------------------------------

def test_binary_labels_file(tmp_path, capsys, monkeypatch):
    from nas.export import package
    monkeypatch.setattr(package, "_convert", lambda *a, **k: pytest.fail("converted before reading --labels"))
    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"\xff\xfe\x00cat\n")                                      # was: UnicodeDecodeError
    refused(capsys, ["export", "--model", "mobilenet_v2", "--labels", labels, "--out", tmp_path / "m.mlpackage"],
            labels, "not UTF-8")
    assert files_in(tmp_path) == ["labels.txt"]


@pytest.mark.parametrize("text, why", [
    ("cat\ndog\n", "--labels {f}: 2 labels for 1000 classes (network mobilenet_v2)"),    # was: named the network only
    ("cat\n\ndog\ncat\n", "--labels {f}: line 4: label 'cat' repeats line 1 (labels must be unique)"),
    ("\n  \n", "--labels {f}: no labels (one per line)"),
    ("cat\nd\x1b[2Jog\n", "--labels {f}: line 2: label 'd\\x1b[2Jog' holds a control character (U+001B at character 2)"),
    ("cat\n\u202egod\n", "--labels {f}: line 2: label '\\u202egod' holds a control character (U+202E at character 1)"),
])
def test_labels_that_do_not_fit_name_the_file(tmp_path, capsys, monkeypatch, text, why):
    from nas.export import package
    monkeypatch.setattr(package, "_convert", lambda *a, **k: pytest.fail("converted before checking --labels"))
    labels = _write(tmp_path, "labels.txt", text)
    line = refused(capsys, ["export", "--model", "mobilenet_v2", "--labels", labels, "--out", tmp_path / "m.mlpackage"])
    assert line == "nas: error: " + why.format(f=labels)
    assert files_in(tmp_path) == ["labels.txt"]


@pytest.mark.parametrize("text", [b"[1]\n[2]\n", b"\xff\xfe\n", b"[" * 100_000 + b"\n"])
def test_device_results_that_are_not_results(tmp_path, text):
    from nas.profiling import host
    f = tmp_path / "results.jsonl"
    f.write_bytes(text)                                                           # was: AttributeError, ...
    assert host.complete_results(f, "b" * 64) is False


# -- the estimate cache ---------------------------------------------------------------------------

def test_estimate_cache_score_too_large_is_refused(tmp_path, capsys):
    archs = _write(tmp_path, "archs.txt", "32:conv_k3_s2_c8|gap,fc_c10\n")
    cache = tmp_path / "cache.jsonl"
    argv = ["estimate", "--archs", str(archs), "--accuracy", "params", "--cache", str(cache), "--json"]
    assert main(argv) == 0
    capsys.readouterr()
    cache.write_text(cache.read_text().replace('"score": ', '"score": ' + "9" * 400 + ', "was": '))
    refused(capsys, argv, cache, "line 1: field score:")                          # was: OverflowError, then skipped


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


# -- hostile11: control characters in YAML text ---------------------------------------------------

@pytest.mark.parametrize("kind, text, shown", [
    ("arch", 'name: "mv2\\x1b[2J"\ninput_size: 32\nstages:\n  - [conv_k3_s2_c8]\n', "'mv2\\x1b[2J'"),
    ("space", None, "'sp\\x1b[2J'"),
    ("arch", 'name: t\ninput_size: 32\nnotes: "a\\u202eb"\nstages:\n  - [conv_k3_s2_c8]\n', "'a\\u202eb'"),
], ids=["arch-name", "space-name", "bidi-note"])
def test_control_characters_in_yaml_text_are_refused(tmp_path, capsys, kind, text, shown):
    """hostile11: a network's or space's ``name`` with an escape sequence was printed by ``arch show`` /
    ``spaces show`` (``\\x1b[2J`` cleared the terminal). Every YAML file goes through nas/safeyaml.py: text with
    a control character other than newline and tab is refused there, with its line."""
    from test_bad_input import refused
    f = tmp_path / f"{kind}.yaml"
    if text is None:
        src = (Path(__file__).resolve().parents[1] / "search_spaces" / "fbnet.yaml").read_text()
        assert src.startswith("name: fbnet\n")
        text = 'name: "sp\\x1b[2J"\n' + src[len("name: fbnet\n"):]
    f.write_text(text)
    argv = ["arch", "show", f] if kind == "arch" else ["spaces", "show", f]
    refused(capsys, argv, f, "text with a control character", shown, "line ")
