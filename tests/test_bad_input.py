"""Issue 14's hostile-input probes, each through the real CLI.

Every probe must give exit code 2, exactly one ``nas: error:`` line naming the
file or flag, no traceback, nothing left (or half-written) where the output
would go, and never run code from a file.
"""

import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.cli import main
from nas.profiling.bundle import SCHEMA_DIR
from search_fixtures import tiny_space, write_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = SCHEMA_DIR / "examples"


def refused(capsys, argv, *names):
    """Run the CLI; assert the refusal contract and that the message names each of ``names``."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.startswith("nas: error:")]
    assert rc == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture
def tiny(tmp_path):
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "iphone11-ane.yaml")
    return space_path, table


def search_args(tiny, out, *extra, target="50"):
    space_path, table = tiny
    return ["search", "--space", space_path, "--table", table, "--target-ms", target, "--out", out,
            "--no-export", "--no-baselines", *extra]


# -- 1. code execution --------------------------------------------------------------------------

class Payload:
    """A pickled object whose loading runs a shell command (creates ``marker``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_crafted_dnas_checkpoint_runs_no_code(tiny, tmp_path, capsys, writer):
    out, marker = tmp_path / "out", tmp_path / "PWNED"
    out.mkdir()
    ckpt = out / "dnas_checkpoint.pt"
    def write(path, mark):
        payload = {"epoch": 1, "config": Payload(mark)}
        if writer == "torch.save":
            torch.save(payload, path)
        else:
            path.write_bytes(pickle.dumps(payload, protocol=2))
    write(ckpt, marker)
    # The payload is live: an unsafe load of the same file with another marker runs it (in a subprocess).
    probe = tmp_path / "probe.pt"
    write(probe, tmp_path / "LIVE")
    subprocess.run([sys.executable, "-c", f"import torch; torch.load({str(probe)!r}, weights_only=False)"],
                   capture_output=True, timeout=300)
    assert (tmp_path / "LIVE").exists()
    before = files_in(out)
    refused(capsys, search_args(tiny, out, "--strategy", "dnas", "--budget", "small", "--resume"), ckpt)
    assert not marker.exists()
    assert files_in(out) == before


def test_foreign_dnas_checkpoint_is_refused_by_structure(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    ckpt = out / "dnas_checkpoint.pt"
    torch.save({"state_dict": {"w": torch.zeros(3)}}, ckpt)           # loads with weights_only, wrong shape
    line = refused(capsys, search_args(tiny, out, "--strategy", "dnas", "--budget", "small", "--resume"), ckpt)
    assert "field" in line


# -- 2. one writer per output folder --------------------------------------------------------------

HOLD = "import sys; from nas.fsutil import OutputLock; lock = OutputLock(sys.argv[1], 'x').acquire(); " \
       "print('held', flush=True); sys.stdin.read(); lock.release()"


def hold_lock(path: Path):
    """Another process that holds the OS lock ``path`` until its stdin closes."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout.readline().strip() == "held"
    return p


def release(p):
    p.stdin.close()
    p.wait(timeout=60)


def test_second_writer_on_a_running_search_is_refused(tiny, tmp_path, capsys):
    """A real search in another process; a second one on its folder (--resume) is refused."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    first = subprocess.Popen([sys.executable, "-m", "nas", *map(str, search_args(tiny, out, "--trials", "100000"))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        import time
        deadline = time.time() + 240
        while not (out / "trials.jsonl").exists() and time.time() < deadline and first.poll() is None:
            time.sleep(0.2)
        assert (out / "trials.jsonl").exists(), "the first search did not start"
        refused(capsys, search_args(tiny, out, "--trials", "100000", "--resume"), out, "another run")
        assert first.poll() is None                       # the first search is unharmed and still running
    finally:
        first.kill()
        first.wait(timeout=60)
    lines = (out / "trials.jsonl").read_text().splitlines()
    idx = [json.loads(l)["trial"] for l in lines[1:] if l.endswith("}")]
    assert idx == list(range(len(idx)))                   # one writer: no trial index twice


def test_second_writer_on_a_fresh_folder_leaves_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    holder = hold_lock(out / ".nas.lock")
    try:
        refused(capsys, search_args(tiny, out, "--trials", "4"), out)
        assert files_in(out) == [".nas.lock"]            # the holder's lock only: no trial log
    finally:
        release(holder)
    assert not out.exists()                              # the holder made the folder and removed it


def test_second_profile_into_the_same_table_is_refused(tmp_path, capsys):
    table = tmp_path / "t.yaml"
    holder = hold_lock(tmp_path / "t.yaml.lock")
    try:
        refused(capsys, ["profile-ops", "--device", "local", "--unit", "ort_cpu", "--ops",
                         "skip_s1_c8@8x8x8", "--out", table, "--min-runs", "1", "--min-time", "0"], table)
        assert files_in(tmp_path) == ["t.yaml.lock"]     # no partial file, no table
    finally:
        release(holder)


# -- 3. tables import without the Swift build ----------------------------------------------------

@pytest.fixture
def bundle(tmp_path, monkeypatch):
    from nas.profiling import importer
    monkeypatch.setattr(importer, "swift_profiler", lambda: None)     # Python alone
    root = tmp_path / "bundle"
    root.mkdir()
    manifest = json.loads((EXAMPLES / "manifest.json").read_text())
    rows = [json.loads(l) for l in (EXAMPLES / "results.jsonl").read_text().splitlines() if l.strip()]
    return root, manifest, rows


def write_bundle_files(root, manifest, rows):
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))   # NaN stays NaN here
    return root / "results.jsonl", root / "manifest.json"


def import_refused(capsys, root, results, manifest, *names):
    out = root.parent / "table.yaml"
    line = refused(capsys, ["tables", "import", results, "--manifest", manifest, "--out", out], *names)
    assert not out.exists() and not list(root.parent.glob(".table.yaml*"))
    return line


def test_import_of_the_example_still_works(bundle, capsys):
    root, manifest, rows = bundle
    results, m = write_bundle_files(root, manifest, rows)
    assert main(["tables", "import", str(results), "--manifest", str(m), "--out", str(root.parent / "t.yaml")]) == 0


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_import_refuses_non_finite_median(bundle, capsys, value):
    root, manifest, rows = bundle
    entry = next(r for r in rows if r["kind"] == "entry")
    entry["stats"]["median_ms"] = value
    assert ("NaN" if math.isnan(value) else "Infinity") in json.dumps(entry)
    import_refused(capsys, root, *write_bundle_files(root, manifest, rows), "results.jsonl", "line")


def test_import_refuses_negative_median(bundle, capsys):
    root, manifest, rows = bundle
    next(r for r in rows if r["kind"] == "entry")["stats"]["median_ms"] = -1.0
    import_refused(capsys, root, *write_bundle_files(root, manifest, rows), "results.jsonl", "median_ms")


def test_import_refuses_duplicate_entry(bundle, capsys):
    root, manifest, rows = bundle
    entry = next(r for r in rows if r["kind"] == "entry")
    rows.insert(rows.index(entry) + 1, dict(entry, stats=dict(entry["stats"], median_ms=9.0)))
    if rows[-1]["kind"] == "footer":
        rows[-1]["entries"] += 1
    line = import_refused(capsys, root, *write_bundle_files(root, manifest, rows), "results.jsonl")
    assert "twice" in line and entry["key"] in line


def test_import_refuses_second_header(bundle, capsys):
    root, manifest, rows = bundle
    rows.insert(2, rows[0])
    line = import_refused(capsys, root, *write_bundle_files(root, manifest, rows), "results.jsonl")
    assert "second header" in line


@pytest.mark.parametrize("file", ["../../../etc/passwd.mlpackage", "ops/../../outside.mlpackage",
                                  "/etc/passwd", "/etc/x.mlpackage"])
def test_import_refuses_manifest_path_outside_the_bundle(bundle, capsys, file):
    root, manifest, rows = bundle
    manifest["entries"][0]["file"] = file
    results, m = write_bundle_files(root, manifest, rows)
    import_refused(capsys, root, results, m, "manifest.json", "entries")


def test_import_refuses_symlink_out_of_the_bundle(bundle, capsys, tmp_path):
    root, manifest, rows = bundle
    (tmp_path / "elsewhere").mkdir()
    (root / "ops").symlink_to(tmp_path / "elsewhere")
    manifest["entries"][0]["file"] = "ops/0000.mlpackage"
    results, m = write_bundle_files(root, manifest, rows)
    line = import_refused(capsys, root, results, m, "manifest.json")
    assert "symbolic link" in line


def test_import_refuses_missing_or_malformed_files(bundle, capsys):
    root, manifest, rows = bundle
    results, m = write_bundle_files(root, manifest, rows)
    import_refused(capsys, root, results, root / "nope.json", "nope.json")
    bad = root / "bad.json"
    bad.write_text("{not json")
    import_refused(capsys, root, results, bad, "bad.json")
    bad.write_bytes(b"\xff\xfe\x00binary")
    import_refused(capsys, root, results, bad, "bad.json")
    bad.write_text("[1, 2]")
    import_refused(capsys, root, results, bad, "bad.json")
    import_refused(capsys, root, root / "missing.jsonl", m, "missing.jsonl")
    garbage = root / "garbage.jsonl"
    garbage.write_text("[1, 2]\n{}\n")
    import_refused(capsys, root, garbage, m, "garbage.jsonl")


# -- 4. tracebacks and silent failures ------------------------------------------------------------

def test_binary_architecture_and_table_files(tmp_path, capsys):
    blob = tmp_path / "net.yaml"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" + bytes(range(256)))
    refused(capsys, ["arch", "show", blob], blob)
    refused(capsys, ["export", "--arch", blob, "--out", tmp_path / "x.mlpackage"], blob)
    refused(capsys, ["tables", "show", blob], blob)
    assert files_in(tmp_path) == ["net.yaml"]


@pytest.mark.parametrize("arch,field", [("224:ir_k3_s1_e0.1_c16", "field e"), ("224:ds_k0_c16", "field k"),
                                        ("1000000000:conv_k3_s2_c16", "input_size"),
                                        ("224:conv_k3_s2_c99999999", "field c")])
def test_degenerate_architectures(tmp_path, capsys, arch, field):
    refused(capsys, ["arch", "show", arch], field)
    refused(capsys, ["export", "--arch", arch, "--out", tmp_path / "x.mlpackage"], field)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("text,field", [
    ("name: n\ninput_size: 1000000000\nstages: [[conv_k3_s2_c16]]\n", "input_size"),
    ("name: n\ninput_size: 32\nstage: []\nstages: [[conv_k3_s2_c16]]\n", "field stage"),
    ("name: n\ninput_size: 32\nstages: [[{type: conv, k: 3, s: 2, c: 16, r: true}]]\n", "field r"),
])
def test_architecture_yaml_fields(tmp_path, capsys, text, field):
    f = tmp_path / "net.yaml"
    f.write_text(text)
    refused(capsys, ["arch", "show", f], f, field)


def test_zoo_metadata_keys_stay_allowed():
    from nas import zoo
    from nas.arch.yaml_io import META_KEYS
    used = {k for n in zoo.names() for k in zoo.get(n).meta}
    assert used and used <= set(META_KEYS)


def _table_text(entry_line: str) -> str:
    return ("schema: nas.latency_table/1\ndevice: iphone11\nunit: ane\nmethod: measured\n"
            "runtime: coreml-mlprogram-ios16\nprovenance: {}\n"
            "time_unit: ms\noverhead: {median_ms: 0.1}\nentry_count: 1\nentries:\n" + entry_line + "\n")


@pytest.mark.parametrize("line,field", [
    ("  12: {median_ms: 0.1}", "entries"),
    ("  [a, b]: {median_ms: 0.1}", "entries"),
    ("  skip@8x8x8: {median_ms: " + "9" * 400 + "}", "median_ms"),
    ("  skip@8x8x8: {median_ms: 0.1, n: " + "9" * 400 + "}", "field n"),
    ("  skip@8x8x8: {median_ms: .nan}", "median_ms"),
    ("  skip@8x8x8: {median_ms: 0.1, 7: 1}", "entry skip@8x8x8"),
])
def test_table_entries(tmp_path, capsys, line, field):
    f = tmp_path / "t.yaml"
    f.write_text(_table_text(line))
    line_out = refused(capsys, ["tables", "show", f], f, field)
    assert len(line_out) < 400                                  # a 400-digit value is not echoed whole


def test_trial_log_line_that_is_json_but_not_a_trial(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(a) for a in search_args(tiny, out, "--trials", "2")]) == 0
    capsys.readouterr()
    for text in ("summary.json", "trials.jsonl"):       # standard JSON only
        for chunk in ((out / text).read_text().splitlines() if text.endswith("l") else [(out / text).read_text()]):
            json.loads(chunk, parse_constant=lambda c: pytest.fail(f"{text} holds {c}"))
    log = out / "trials.jsonl"
    good = log.read_text()
    for bad in ('[1, 2]', '{"trial": 2}', '{"trial": 2, "choices": "ab", "status": "OK", "metrics": {}, "arch": ""}',
                '{"trial": 2, "choices": [0], "status": "??", "metrics": {}, "arch": "x"}', '"text"', '7'):
        log.write_text(good + bad + "\n")
        refused(capsys, search_args(tiny, out, "--trials", "4", "--resume"), log, "line 4")
    log.write_text('["not", "a", "header"]\n')
    refused(capsys, search_args(tiny, out, "--trials", "4", "--resume"), log)


@pytest.mark.parametrize("flag,value", [("--seed", "-1"), ("--batch-size", "0"), ("--target-ms", "inf"),
                                        ("--target-ms", "nan"), ("--target-ms", "-3"), ("--trials", "0"),
                                        ("--workers", "0"), ("--train-epochs", "0"),
                                        ("--train-resolution", "100000"), ("--seed", str(2**40))])
def test_numeric_flags_are_checked_before_anything_is_written(tiny, tmp_path, capsys, flag, value):
    out = tmp_path / "out"
    needs = {"--workers": ["--backend", "ray", "--accuracy", "train"], "--train-epochs": ["--accuracy", "train"],
             "--train-resolution": ["--accuracy", "train"]}     # read only with these (nas/cli/flagdeps.py)
    args = search_args(tiny, out, flag, value, *needs.get(flag, []), target="50")
    if flag == "--target-ms":
        args = [a for i, a in enumerate(args) if not (a == "--target-ms" or (i and args[i - 1] == "--target-ms"))]
        args += ["--target-ms", value]
    refused(capsys, args, flag)
    assert not out.exists()
    assert main([str(a) for a in search_args(tiny, out, "--trials", "2")]) == 0     # the corrected rerun works


def test_export_into_a_path_under_a_file_fails_before_conversion(tmp_path, capsys, monkeypatch):
    from nas.export import package
    monkeypatch.setattr(package, "_convert", lambda *a, **k: pytest.fail("converted before checking --out"))
    afile = tmp_path / "afile"
    afile.write_text("x")
    target = afile / "sub" / "net.mlpackage"
    refused(capsys, ["export", "--model", "mobilenet_v2", "--out", target], target)
    assert afile.read_text() == "x" and files_in(tmp_path) == ["afile"]


def test_fast_table_reader_agrees_with_yaml_on_every_shipped_table():
    """The fast entry-line reader must read exactly what the safe YAML loader reads (which it replaces)."""
    import yaml
    from nas.latency import fastload
    from nas.safeyaml import StrictLoader
    tables = sorted((ROOT / "latency_tables").glob("*.yaml"))
    assert tables
    for path in tables:
        text = path.read_text()
        head, lines = fastload.split(text)
        fast = fastload.read_entries(lines)
        assert fast is not None, path                                # save_table's format: the fast path
        assert fast == yaml.load(text, Loader=StrictLoader)["entries"], path
    # Anything outside that format goes to YAML: a comment, a flow value with a space, a duplicate key.
    for odd in ("  a@1: {median_ms: 1.0}  # note", "  a@1: {median_ms: 1.0, rule: 'x y'}x", "  a@1: {x: [1, 2]}"):
        assert fastload.read_entries([odd]) is None
    assert fastload.read_entries(["  a@1: {median_ms: 1.0}", "  a@1: {median_ms: 2.0}"]) is None


@pytest.mark.parametrize("content,names", [
    (b"models: [unclosed\n", ["malformed YAML", "line 2"]),
    (b"\xff\xfe not text", ["not UTF-8"]),
    (b"sources:\n  - id: chernykh_zoo_iphone11pro\n    rows: [1, 2]\n", ["rows[0].model"]),
    (b"sources: 3\n", ["field sources"]),
])
def test_calibration_timings_files(tmp_path, capsys, content, names):
    # `nas tables calibrate --add FILE` reads user-supplied timings: a bad one is refused before any table is written.
    bad = tmp_path / "timings.yaml"
    bad.write_bytes(content)
    out = tmp_path / "tables"
    refused(capsys, ["tables", "calibrate", "--add", bad, "--out-dir", out, "--report", tmp_path / "r.json",
                     "--no-cv"], str(bad), *names)
    assert not out.exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("content,names", [
    (b"\xff\xfe{}", ["summary.json", "UnicodeDecodeError"]),
    (b'{"best": 5}', ["summary.json", "field best"]),
    (b'{"best": {"arch": "32:conv_k3_s1_c4|gap,fc_c10", "accuracy": NaN}}', ["field best.accuracy"]),
    (b'{"best": {"arch": 7}}', ["neither best.yaml nor best.arch"]),
])
def test_report_search_dir_summaries(tmp_path, capsys, content, names):
    d = tmp_path / "search"
    d.mkdir()
    (d / "summary.json").write_bytes(content)
    out = tmp_path / "report"
    refused(capsys, ["report", "--search-dir", d, "--model", "mobilenet_v2", "--out", out], *names)
    assert not out.exists()


def _space_file(tmp_path, name, edit):
    import yaml
    from pathlib import Path as _P
    data = yaml.safe_load((_P(__file__).parents[1] / "search_spaces" / f"{name}.yaml").read_text())
    edit(data)
    f = tmp_path / "space.yaml"
    f.write_text(yaml.safe_dump(data))
    return f


@pytest.mark.parametrize("name,edit,field", [
    ("fbnet", lambda d: d.update(stages=[{"c": 16, "n": 10**9, "s": 1}]), "field stages"),   # would exhaust memory
    ("fbnet", lambda d: d.update(stages=[{"c": True, "n": 1, "s": 1}]), "field stages"),
    ("fbnet", lambda d: d.update(candidates=["skip", "skip"]), "field candidates"),
    ("fbnet", lambda d: d.update(name=[1]), "field name"),
    ("mnasnet", lambda d: d["choices"].update(layers=["1"]), "field choices.layers[0]"),
    ("mnasnet", lambda d: d["choices"].update(width=[float("nan")]), "field choices.width[0]"),
    ("mnasnet", lambda d: d["choices"].update(op=["zz"]), "unknown block type"),
])
def test_search_space_fields(tmp_path, capsys, name, edit, field):
    f = _space_file(tmp_path, name, edit)
    out = tmp_path / "o"
    refused(capsys, ["search", "--space", f, "--target-ms", "1", "--out", out, "--trials", "4", "--no-export"],
            str(f), field)
    assert not out.exists()


def test_nas_tables_dir_naming_no_folder_is_refused(tmp_path, capsys, monkeypatch):
    """A typo in NAS_TABLES_DIR used to price silently on the shipped tables."""
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path / "no_such_folder"))
    refused(capsys, ["latency", "--model", "mobilenet_v2", "--device", "iphone13", "--unit", "ane"], "NAS_TABLES_DIR")
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))          # an empty folder: the shipped tables answer
    assert main(["latency", "--model", "mobilenet_v2", "--device", "iphone13", "--unit", "ane"]) == 0


def test_output_piped_into_a_closed_reader_stops_without_a_traceback():
    """`nas latency ... | head -1`: the reader goes away; nas stops with 128 + SIGPIPE and no traceback. Here the
    reader (`true`) is gone long before nas (seconds of imports) writes its first line."""
    cmd = (f"'{sys.executable}' -m nas latency --model mobilenet_v2 --device iphone13 --unit ane | true; "
           "echo \"rc=${PIPESTATUS[0]}\"")
    p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "rc=141", p.stdout
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr


def test_local_profile_over_a_finished_table_needs_replace(tmp_path, capsys):
    """A finished table at --out (minutes of measurements) was silently replaced by the next profile-ops."""
    out = tmp_path / "t.yaml"
    out.write_text("finished table\n")
    argv = ["profile-ops", "--device", "local", "--unit", "ort_cpu", "--ops", "conv_k1_s1_c8@8x8x8", "--out", out,
            "--min-runs", "3", "--min-time", "0", "--passes", "1", "--warmup", "1"]
    refused(capsys, argv, str(out), "--replace")
    assert out.read_text() == "finished table\n" and sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]
    assert main([str(a) for a in argv + ["--replace"]]) == 0
    assert "conv_k1_s1_c8@8x8x8" in out.read_text()


@pytest.mark.parametrize("argv, flag", [
    (["profile-ops", "--device", "local", "--unit", "ort_cpu", "--space", ""], "--space"),   # was: every space
    (["profile-ops", "--device", "iphone11", "--unit", "ane", "--zoo", " "], "--zoo"),
    (["search", "--space", "fbnet", "--target-ms", "1", "--seed-from", ""], "--seed-from"),
    (["latency", "--model", "mobilenet_v2", "--device", "iphone13", "--unit", "ane", "--runtime", ""], "--runtime"),
])
def test_an_empty_option_value_is_refused_not_read_as_not_given(tmp_path, capsys, monkeypatch, argv, flag):
    """`--space "$UNSET"`: an empty value read as "not given" started every space's profile (2,391 ops)."""
    monkeypatch.chdir(tmp_path)
    refused(capsys, argv, flag)
    assert list(tmp_path.iterdir()) == []
