"""Flag fuzzer: every option of every command, fed hostile values, through the real CLI.

The files the CLI reads are fuzzed elsewhere (``test_fuzz_inputs.py``); this covers
the command line itself. It walks ``nas.cli.make_parser()`` -- every subcommand and
every action that takes a value -- so a new command or option is fuzzed without
editing a list. Each option gets hostile values by its kind:

- ``type=int``/``float``: negative, 0, NaN, inf, -inf, 1e308, 10**30, '';
- ``choices``: a value outside them (argparse's own refusal, exit 2);
- text: '', a path under a regular file (``FILE/x``), a file that does not exist, 10k characters,
  and nan, -1, 1e308 (``--target-ms`` and ``--dnas-sweep`` are text that is read as numbers).

Every other argument gets a valid value from ``BASES`` (one fast, valid invocation per
command). The contract: exit 0, or exit 2 with exactly one ``nas: error:`` line naming
the flag (or the value it was given), no traceback, and on a refusal no new file in the
working folder. Numbers that no setting can mean (negative, non-finite, 1e308, 10**30)
must be refused, not accepted. Commands that would run for minutes (profiling, export,
calibration, table validation) have their expensive step replaced by a sentinel: a
hostile number, or a path under a file (which no name or path can be), that reaches it
was accepted, which fails the case.

argparse's own refusals (a bad ``int``, a value outside ``choices``) print usage and
``nas CMD: error: argument --flag: ...`` and exit 2: the standard, accepted here.

The default run draws ``NAS_FLAG_CASES`` (2) cases per option with a fixed seed; the
``slow`` test runs the whole grid.
"""

from __future__ import annotations

import argparse
import os
import random
from importlib import import_module
from pathlib import Path

import pytest

from nas.cli import main, make_parser
from nas.cli.flagdeps import leaf_commands
from nas.profiling.bundle import SCHEMA_DIR
from search_fixtures import tiny_space, write_table

ROOT = Path(__file__).resolve().parents[1]
OP = "ir_k3_s1_e1_c16@16x8x8"


class Reached(Exception):
    """Raised by a stand-in for an expensive step: validation let the value through."""


def _reached(*a, **k):
    raise Reached


# -- valid invocations, one or more per command ------------------------------------------------

def _tiny(tmp):
    space_path, space = tiny_space(tmp)
    return space_path, write_table(space, tmp / "iphone11-ane.yaml")


def _bundle(tmp, monkeypatch):
    from nas.profiling import importer
    monkeypatch.setattr(importer, "swift_profiler", lambda: None)
    root = tmp / "bundle"
    root.mkdir()
    for name in ("manifest.json", "results.jsonl"):
        (root / name).write_text((SCHEMA_DIR / "examples" / name).read_text())
    return root


def _archs(tmp):
    (tmp / "archs.txt").write_text(str(ROOT / "nas/zoo/models/mobilenet_v2.yaml") + "\n")
    return tmp / "archs.txt"


def _guard(monkeypatch, *targets):
    for module, attr in targets:
        monkeypatch.setattr(import_module(module), attr, _reached)


def base_profile_local(tmp, mp):
    _guard(mp, ("nas.profiling.localrun", "profile_local"))
    return ["--device", "local", "--unit", "ort_cpu", "--ops", OP, "--out", "t.yaml"]


def base_profile_bundle(tmp, mp):
    _guard(mp, ("nas.cli.profile_cmd", "write_bundle"))
    return ["--device", "iphone11", "--unit", "ane", "--space", "fbnet", "--out", "b"]


def base_validate(tmp, mp):
    _guard(mp, ("nas.profiling.localrun", "validate_local"), ("nas.profiling.staleness", "drift"))
    table = write_table(tiny_space(tmp)[1], tmp / "local.yaml", device="local", unit="ort_cpu")
    return ["--device", "local", "--unit", "ort_cpu", "--table", table, "--out", "v"]


def base_calibrate(tmp, mp):
    _guard(mp, ("nas.latency.costmodel.calibrate", "calibrate"),
           ("nas.latency.costmodel.today_calibrate", "calibrate_today"))
    return ["--no-cv", "--out-dir", "tables", "--report", "r.json"]


def base_export(tmp, mp):
    _guard(mp, ("nas.export.package", "_convert"))
    return ["--model", "mobilenet_v2", "--out", "m.mlpackage"]


def base_search(tmp, mp):
    space, table = _tiny(tmp)
    return ["--space", space, "--table", table, "--target-ms", "50", "--out", "o", "--no-export",
            "--no-baselines", "--trials", "2"]


def base_search_train(tmp, mp):
    """--accuracy train: --data, --train-epochs, --train-resolution are read (nas/cli/flagdeps.py)."""
    _guard(mp, ("nas.search.session", "search"))
    return [*base_search(tmp, mp), "--accuracy", "train"]


def base_search_ray(tmp, mp):
    """--backend ray: --ray-address, --ray-storage, --workers, --gpus-per-trial, --early-stop are read (the search
    itself, which would start Ray, is the sentinel)."""
    pytest.importorskip("ray.tune")
    return [*base_search_train(tmp, mp), "--backend", "ray"]


def base_search_dnas(tmp, mp):
    """--strategy dnas: --dnas-loss, --device-torch, --dnas-sweep (and --data, --train-resolution) are read."""
    _guard(mp, ("nas.search.dnas.session", "_execute_dnas"))
    space, table = _tiny(tmp)
    return ["--space", space, "--table", table, "--target-ms", "50", "--out", "o", "--no-export", "--strategy", "dnas"]


def base_estimate_trained(tmp, mp):
    """--accuracy train / proxy: --data, --train-epochs, --train-resolution / --space are read."""
    _guard(mp, ("nas.search.build", "train_estimator"), ("nas.search.build", "proxy_estimator"))
    return [*base_estimate(tmp, mp), "--accuracy", "train"]


def base_estimate_proxy(tmp, mp):
    return [*base_estimate_trained(tmp, mp)[:-1], "proxy"]


def base_estimate(tmp, mp):
    mp.setenv("NAS_CACHE_DIR", str(tmp / "cache"))
    return ["--archs", _archs(tmp), "--cache", "c.jsonl"]


def base_import(tmp, mp):
    root = _bundle(tmp, mp)
    return [root / "results.jsonl", "--manifest", root / "manifest.json", "--out", "t.yaml"]


BASES = {
    ("zoo", "list"): [lambda t, m: []],
    ("zoo", "show"): [lambda t, m: ["mobilenet_v2"]],
    ("arch", "show"): [lambda t, m: [ROOT / "nas/zoo/models/mobilenet_v2.yaml"]],
    ("spaces", "list"): [lambda t, m: []],
    ("spaces", "show"): [lambda t, m: ["fbnet"]],
    ("spaces", "sample"): [lambda t, m: ["fbnet", "-n", "2"]],
    ("profile-ops",): [base_profile_local, base_profile_bundle],
    ("latency",): [lambda t, m: ["--model", "mobilenet_v2", "--device", "iphone11", "--unit", "ane"]],
    ("tables", "import"): [base_import],
    ("tables", "validate"): [base_validate],
    ("tables", "show"): [lambda t, m: [ROOT / "latency_tables/iphone11-ane.coreml-mlprogram-ios16.yaml"]],
    ("tables", "calibrate"): [base_calibrate],
    ("export",): [base_export],
    ("check",): [lambda t, m: ["no-such.mlpackage"]],     # no valid package off macOS: its argument alone
    ("report",): [lambda t, m: ["--model", "mobilenet_v2", "--out", "r"]],
    ("search",): [base_search, base_search_train, base_search_dnas, base_search_ray],   # one per option's requirement
    ("estimate",): [base_estimate, base_estimate_trained, base_estimate_proxy],
}
VALID_BASE = {k for k in BASES if k != ("check",)}


# -- the parser, walked --------------------------------------------------------------------------

def commands():
    """Yield ``(path, parser)`` for every leaf command of the real parser."""
    return leaf_commands(make_parser())


def value_actions(parser):
    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [a for a in parser._actions if not isinstance(a, skip) and a.nargs != 0]


NEVER_VALID = ("-1", "nan", "inf", "-inf", "1e308", str(10**30))     # no setting means these


def hostile(action) -> list[str]:
    if action.choices is not None:
        return ["not-a-choice"]
    if action.type in (int, float):
        return ["-1", "0", "nan", "inf", "-inf", "1e308", str(10**30), ""]
    return ["", "FILE/x", "missing.yaml", "x" * 10_000, "nan", "-1", "1e308"]   # some text is read as numbers


def all_cases():
    out = []
    for path, parser in commands():
        assert path in BASES, f"no valid invocation for `nas {' '.join(path)}`: add one to BASES"
        for action in value_actions(parser):
            if not action.option_strings and not action.required:
                continue
            if path not in VALID_BASE and action.option_strings:
                continue               # without a valid base only its positional argument is fuzzed
            for b in range(len(BASES[path])):
                for value in hostile(action):
                    out.append(pytest.param(path, b, action.dest, value,
                                            id=f"{'-'.join(path)}[{b}]:{action.dest}={value[:12]!r}"))
    return out


CASES = all_cases()
N = int(os.environ.get("NAS_FLAG_CASES", "2"))


def sample():
    rng, by_option = random.Random(0), {}
    for c in CASES:
        by_option.setdefault(c.values[:3], []).append(c)
    return [c for cs in by_option.values() for c in rng.sample(cs, min(N, len(cs)))]


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def substitute(argv: list[str], action, value: str) -> list[str]:
    """``argv`` with ``action`` given ``value`` (replacing its valid value when there is one)."""
    if not action.option_strings:                      # a positional: the first plain word stands for it
        i = next(i for i, a in enumerate(argv) if not a.startswith("-"))
        return [*argv[:i], value, *argv[i + 1:]]
    for i, a in enumerate(argv):
        if a in action.option_strings:
            j = i + 1
            while j < len(argv) and not argv[j].startswith("--"):
                j += 1
            return [*argv[:i], *argv[j:], *given(a, value)]
    return [*argv, *given(action.option_strings[-1], value)]


def given(flag: str, value: str) -> list[str]:
    return [f"{flag}={value}"] if value.startswith("-") or not value else [flag, value]


def run_case(path, b, dest, value, tmp_path, monkeypatch, capsys):
    parser = dict(commands())[path]
    action = next(a for a in value_actions(parser) if a.dest == dest)
    work = tmp_path / "work"
    work.mkdir()
    (work / "FILE").write_text("a regular file\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NAS_PROGRESS", "0")
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    base = [str(a) for a in BASES[path][b](fixtures, monkeypatch)]
    argv = [*path, *substitute(base, action, value)]
    before = files(work)
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:                            # argparse's own refusal
        err = capsys.readouterr().err
        assert e.code == 2, err
        assert f"nas {' '.join(path[:1])}" in err and "error:" in err, err
        assert files(work) == before
        return
    except Reached:
        assert not (action.type in (int, float) and value in NEVER_VALID), \
            f"{argv}: {value!r} for {dest} reached the work unchecked"
        assert value != "FILE/x", f"{argv}: a path under a file reached the work unchecked"   # no name or path
        return
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if rc == 0:
        assert not (action.type in (int, float) and value in NEVER_VALID), f"{argv}: {value!r} accepted"
        return
    lines = [l for l in err.splitlines() if l.startswith("nas: error:")]
    assert rc == 2, (argv[:8], rc, err[-2000:])
    assert len(lines) == 1, err[-2000:]
    names = [*action.option_strings, action.dest, action.metavar or action.dest]
    named = any(n and n in lines[0] for n in names) or (value[:40] if value else "''") in lines[0]
    assert named, (argv[:8], lines[0][:300])
    assert files(work) == before, sorted(files(work) - before)


@pytest.mark.parametrize("path,b,dest,value", sample())
def test_flag(path, b, dest, value, tmp_path, monkeypatch, capsys):
    run_case(path, b, dest, value, tmp_path, monkeypatch, capsys)


# One case of each finding (docs/robustness.md, "The flag fuzzer and what it found"), always run.
FINDINGS = [
    (("spaces", "sample"), 0, "seed", "-1"), (("spaces", "sample"), 0, "n", str(10**30)),
    (("profile-ops",), 0, "min_time", "nan"), (("profile-ops",), 0, "calibrate", "-1"),
    (("profile-ops",), 1, "workers", "-1"), (("profile-ops",), 1, "max_runs", str(10**30)),
    (("tables", "validate"), 0, "samples", "-1"), (("tables", "validate"), 0, "min_time", "inf"),
    (("export",), 0, "seed", "-1"), (("estimate",), 0, "train_epochs", "-1"),
    (("latency",), 0, "model", ""), (("export",), 0, "model", ""),
    (("spaces", "show"), 0, "name", "x" * 10_000), (("search",), 0, "out", "x" * 10_000),
    (("tables", "import"), 0, "out", ""), (("tables", "import"), 0, "out", "FILE/x"),
    (("estimate",), 0, "cache", "FILE/x"), (("tables", "show"), 0, "path", ""),
    (("report",), 0, "search_dir", ""),
    (("profile-ops",), 0, "unit", "FILE/x"), (("profile-ops",), 1, "out", "FILE/x"),
    (("tables", "validate"), 0, "out", "FILE/x"), (("tables", "validate"), 0, "space", "FILE/x"),
    (("tables", "validate"), 0, "manifest", "FILE/x"), (("tables", "calibrate"), 0, "out_dir", "FILE/x"),
    (("tables", "calibrate"), 0, "report", "FILE/x"), (("tables", "calibrate"), 0, "data", "FILE/x"),
    (("export",), 0, "device", "FILE/x"), (("latency",), 0, "device", "x" * 10_000),
    (("search",), 2, "device_torch", "FILE/x"), (("search",), 2, "device_torch", "cuda:99"),
    (("search",), 3, "ray_address", "FILE/x"), (("search",), 3, "ray_address", "nan"),
    (("search",), 3, "ray_storage", "FILE/x"), (("search",), 3, "ray_storage", "x" * 10_000),
]


@pytest.mark.parametrize("path,b,dest,value", FINDINGS, ids=lambda v: str(v)[:20])
def test_finding(path, b, dest, value, tmp_path, monkeypatch, capsys):
    run_case(path, b, dest, value, tmp_path, monkeypatch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("path,b,dest,value", CASES)
def test_flag_full_grid(path, b, dest, value, tmp_path, monkeypatch, capsys):
    run_case(path, b, dest, value, tmp_path, monkeypatch, capsys)


def test_every_command_has_a_valid_invocation(tmp_path, monkeypatch, capsys):
    """The bases themselves pass (else every case would be refused for the base's fault)."""
    for path in sorted(VALID_BASE):
        for b, make in enumerate(BASES[path]):
            d = tmp_path / f"{'-'.join(path)}{b}"
            (d / "f").mkdir(parents=True)
            monkeypatch.chdir(d)
            try:
                rc = main([*path, *map(str, make(d / "f", monkeypatch))])
            except Reached:
                rc = 0
            assert rc == 0, (path, capsys.readouterr().err[-1000:])
            monkeypatch.undo()
