"""A seeded mutation fuzzer over every kind of file the CLI reads, through the real ``nas.cli.main``.

Each case starts from a valid file the project ships or produces (a zoo architecture, a search
space, a latency table, the harness's example bundle, the calibration timings, a tiny search run
folder, an estimate cache and arch list), damages it with ``fuzz_mutate.mutate`` (or replaces it by a directory,
a symbolic link out of its folder, an empty file) and runs the command that reads it. The contract
(docs/robustness.md): exit 0, or exit 2 with one ``nas: error:`` line that names the file; never
another exception (a traceback), never code from the file run, and no partial file left where the
command writes. The default run draws ``NAS_FUZZ_CASES`` (default 6) cases per kind from a fixed
seed (half that for the two kinds read by ``nas report``, which renders plots); the ``slow`` variant
draws 150 per kind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

import fuzz_mutate
from nas.cli import main
from nas.profiling.bundle import SCHEMA_DIR
from search_fixtures import tiny_space, write_table

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261130
CASES = int(os.environ.get("NAS_FUZZ_CASES", "6"))
TINY_ARCH = "32:conv_k3_s2_c8|ir_k3_e1_c8|ir_k3_e1_c16_s2|conv_k1_s1_c32|gap,fc_c10"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()} if folder.is_dir() else {}


# -- one entry per file kind: (format, setup(tmp) -> (file to mutate, argv, output path)) -----------

def _arch(tmp, rng):
    src = rng.choice(sorted((ROOT / "nas" / "zoo" / "models").glob("*.yaml")))
    f = tmp / "net.yaml"
    shutil.copy(src, f)
    argv = rng.choice([["arch", "show", f], ["arch", "show", "--json", f],
                       ["latency", "--arch", f, "--device", "iphone11", "--unit", "ane"]])
    return f, argv, None


def _space(tmp, rng):
    f = tmp / "space.yaml"
    shutil.copy(rng.choice(sorted((ROOT / "search_spaces").glob("*.yaml"))), f)
    return f, rng.choice([["spaces", "show", f], ["spaces", "sample", "-n", "2", f]]), None


def _table(tmp, rng):
    space_path, space = tiny_space(tmp)
    f = write_table(space, tmp / "iphone11-ane.yaml")
    if rng.random() < 0.3:
        shutil.copy(ROOT / "latency_tables" / "local-ort_cpu.yaml", f)
        return f, ["tables", "show", f], None
    return f, rng.choice([["tables", "show", f], ["tables", "show", "--json", f],
                          ["latency", "--arch", TINY_ARCH, "--table", f]]), None


def _provenance_table(tmp, rng):
    """hostile11: a table whose provenance holds every field code reads (``nas.latency.provcheck.RULES``):
    a shipped predicted table's calibration_coverage and cross_validation, the local table's correction and
    protocol, and a validation figure, its entries cut to mobilenet_v2's ops so that mutations often land in
    the provenance. Built once per test and copied per case."""
    seed = tmp.parent / "provenance-table.yaml"
    if not seed.exists():
        from nas import zoo
        from nas.arch import resolve
        from nas.latency import load_table, save_table
        t = load_table(ROOT / "latency_tables" / "iphone15pro-ane.coreml-mlprogram-ios16.yaml")
        local = load_table(ROOT / "latency_tables" / "local-ort_cpu.yaml").provenance
        keys = {l.key for l in resolve(zoo.get("mobilenet_v2").spec)}
        t.entries = {k: v for k, v in t.entries.items() if k in keys}
        assert len(t.entries) == len(keys) and {"calibration_coverage", "cross_validation"} <= set(t.provenance)
        t.provenance |= {"correction": local["correction"], "protocol": local["protocol"],
                         "validation": {"within_10pct": 0.9, "networks": 30, "spearman": 0.95, "mape": 4.2}}
        save_table(t, seed)
    f = tmp / "iphone15pro-ane.yaml"
    shutil.copy(seed, f)
    return f, rng.choice([["tables", "show", f], ["tables", "show", "--json", f],
                          ["latency", "--model", "mobilenet_v2", "--table", f, "--json"],
                          ["latency", "--model", "mobilenet_v2", "--table", f]]), None


def _bundle(which):
    def setup(tmp, rng):
        root = tmp / "bundle"
        root.mkdir()
        for name in ("manifest.json", "results.jsonl"):
            shutil.copy(SCHEMA_DIR / "examples" / name, root / name)
        out = tmp / "out" / "table.yaml"
        argv = ["tables", "import", root / "results.jsonl", "--manifest", root / "manifest.json", "--out", out]
        return root / which, argv, tmp / "out"
    return setup


def _timings(tmp, rng):
    f = tmp / "timings.yaml"
    shutil.copy(ROOT / "calibration" / "coreml_iphone_latency_2020.yaml", f)
    return f, ["tables", "calibrate", "--data", f, "--out-dir", tmp / "out", "--report", tmp / "out" / "r.json",
               "--no-cv"], tmp / "out"


def _run_folder(which):
    def setup(tmp, rng):
        template = tmp.parent / "template"               # one tiny search per test, copied for each case
        space_path, table = template / "tiny.yaml", template / "iphone11-ane.yaml"
        search = ["search", "--space", space_path, "--table", table, "--target-ms", "50", "--out",
                  template / "run", "--no-export", "--no-baselines", "--trials", "2"]
        if not (template / "run").exists():
            template.mkdir()
            write_table(tiny_space(template)[1], table)
            assert main([str(a) for a in search]) == 0
        run = tmp / "run"
        shutil.copytree(template / "run", run)
        search[search.index("--out") + 1] = run
        if which == "trials.jsonl":
            return run / which, search[:-1] + ["3", "--resume"], None
        return run / which, ["report", "--search-dir", run, "--model", "mobilenet_v2", "--out", tmp / "rep"], \
            tmp / "rep"
    return setup


def _cache(tmp, rng):
    archs, cache = tmp / "archs.txt", tmp / "cache.jsonl"
    archs.write_text(TINY_ARCH + "\n")
    argv = ["estimate", "--archs", archs, "--accuracy", "params", "--cache", cache]
    assert main([str(a) for a in argv]) == 0
    return cache, argv, None


BUNDLE = ("manifest.json", "results.jsonl")     # the two files are checked against each other
REPORT_KINDS = ("summary.json", "best.yaml")
ALSO = {"architecture": ("no entry for op",)}   # a valid network the table cannot price: names the table
def _arch_list(tmp, rng):
    f = tmp / "archs.txt"
    zoo_yaml = ROOT / "nas" / "zoo" / "models" / "mobilenet_v2.yaml"
    f.write_text(f"# networks to score\n{TINY_ARCH}\n{zoo_yaml}\n32:conv_k3_s2_c8|gap,fc_c10\n")
    return f, ["estimate", "--archs", f, "--accuracy", "params", "--no-cache"], None


KINDS = {
    "architecture": ("yaml", _arch),
    "search space": ("yaml", _space),
    "latency table": ("yaml", _table),
    "provenance table": ("yaml", _provenance_table),
    "bundle manifest": ("json", _bundle("manifest.json")),
    "bundle results": ("jsonl", _bundle("results.jsonl")),
    "calibration timings": ("yaml", _timings),
    "summary.json": ("json", _run_folder("summary.json")),
    "best.yaml": ("yaml", _run_folder("best.yaml")),
    "trial log": ("jsonl", _run_folder("trials.jsonl")),
    "estimate cache": ("jsonl", _cache),
    "estimate arch list": ("text", _arch_list),
}


def _fast_calibration(monkeypatch):
    """The fit behind ``tables calibrate`` takes ~30 s: read the files as it does, then stop there."""
    import importlib
    cal = importlib.import_module("nas.latency.costmodel.calibrate")
    def read_only(files, out_dir, report_path, **kw):
        cal.load_all(files)
        return {}
    monkeypatch.setattr(cal, "calibrate", read_only)
    monkeypatch.setattr(cal, "format_report", lambda report: "")


def _replace(f: Path, tmp: Path, fmt: str, rng: random.Random) -> str:
    """Write the mutated file (or a directory / a link out of the folder in its place); says what."""
    r = rng.random()
    if r < 0.03:
        f.unlink()
        f.mkdir()
        return "a directory"
    if r < 0.06:
        outside = tmp.parent / f"outside-{tmp.name}"
        outside.write_bytes(f.read_bytes())
        f.unlink()
        f.symlink_to(outside)
        return "a symbolic link out of the folder"
    data = fuzz_mutate.mutate(f.read_bytes(), fmt, rng)
    f.write_bytes(data)
    return repr(data[:120])


def check_case(kind: str, seed: int, tmp: Path, capsys, monkeypatch) -> None:
    fmt, setup = KINDS[kind]
    rng = random.Random(f"{kind}/{seed}")
    if kind == "calibration timings":
        _fast_calibration(monkeypatch)
    monkeypatch.chdir(tmp)                                  # where a crafted YAML tag would `touch` its marker
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp / "cache-dir"))
    f, argv, out = setup(tmp, rng)
    capsys.readouterr()
    what = _replace(f, tmp, fmt, rng)
    before = _snapshot(out) if out is not None else None
    label = f"{kind} case {seed}: {what}"
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:                                  # argparse: a file must never reach it
        pytest.fail(f"{label}: SystemExit {e.code}")
    except Exception as e:                                   # noqa: BLE001 -- any other exception is the finding
        pytest.fail(f"{label}: {type(e).__name__}: {str(e)[:300]}")
    err = capsys.readouterr().err
    assert not (tmp / fuzz_mutate.MARKER).exists(), label
    assert "Traceback" not in err, label
    assert rc in (0, 2), f"{label}: exit {rc}: {err[-300:]}"
    if rc == 2:
        lines = [l for l in err.splitlines() if l.startswith("nas: error:")]
        assert len(lines) == 1, f"{label}: {err[-300:]}"
        names = BUNDLE if f.name in BUNDLE else (f.name,) + ALSO.get(kind, ())
        assert any(n in lines[0] for n in names), f"{label}: the message names no {names}: {lines[0][:300]}"
        if out is not None:
            assert _snapshot(out) == before, f"{label}: {out} changed on a refusal"
    if out is not None and out.is_dir():
        partial = [p.name for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".partial")]
        assert not partial, f"{label}: partial files {partial}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz(kind, tmp_path, capsys, monkeypatch):
    for seed in range(CASES // 2 if kind in REPORT_KINDS else CASES):      # a report renders plots: ~1 s
        case = tmp_path / f"case{seed}"
        case.mkdir()
        check_case(kind, seed, case, capsys, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_many(kind, tmp_path, capsys, monkeypatch):
    for seed in range(1000, 1150):
        case = tmp_path / f"case{seed}"
        case.mkdir()
        check_case(kind, seed, case, capsys, monkeypatch)


def test_fuzz_inputs_are_deterministic():
    data = (ROOT / "search_spaces" / "fbnet.yaml").read_bytes()
    a = [fuzz_mutate.mutate(data, "yaml", random.Random(f"x/{i}")) for i in range(20)]
    b = [fuzz_mutate.mutate(data, "yaml", random.Random(f"x/{i}")) for i in range(20)]
    assert a == b and len(set(a)) > 10
