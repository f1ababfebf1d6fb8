"""Options that mean something only with another option: refused without it, accepted with it.

The expectations are written here by hand from reading each command's code (what
it reads under which settings), not taken from ``nas.cli.flagdeps.RULES``; the
completeness test walks the real parser so that a new option must be declared
in ``RULES`` or listed in ``INDEPENDENT``. Refusals run through ``nas.cli.main``
in an empty folder: exit 2, one ``nas: error:`` line naming both flags, and no
file written (``--out`` not created). Acceptances only parse and check (the
command itself is not run), so the whole file takes about a second.
"""

from __future__ import annotations

import argparse

import pytest

from nas.cli import main, make_parser
from nas.cli.flagdeps import INDEPENDENT, RULES, given_dests, leaf_commands, refuse_unread
from nas.errors import NasError

SEARCH = ["search", "--space", "fbnet", "--target-ms", "8", "--out", "o"]
RAY = ["--backend", "ray", "--accuracy", "train"]
DNAS = ["--strategy", "dnas"]
PHONE = ["profile-ops", "--device", "iphone11", "--unit", "ane", "--space", "fbnet", "--out", "b"]
LOCAL = ["profile-ops", "--device", "local", "--unit", "ort_cpu", "--space", "fbnet", "--out", "t.yaml"]
OP = ["--ops", "ir_k3_s1_e1_c16@16x8x8"]
VALIDATE = ["tables", "validate", "--out", "v"]
RESULTS = ["--results", "r.jsonl", "--manifest", "m.json"]
CALIBRATE = ["tables", "calibrate", "--out-dir", "tables", "--report", "r.json"]
TODAY = ["--runtime", "coreml-mlprogram-ios16"]
EXPORT = ["export", "--model", "mobilenet_v2", "--out", "m.mlpackage"]
ESTIMATE = ["estimate", "--archs", "a.txt"]

# (refused argv, the flag refused, the other flag the message must name, argv that gives what it needs)
CASES = [
    (SEARCH + ["--allow-other-device"], "--allow-other-device", "--table", ["--table", "t.yaml"]),
    (SEARCH + ["--bench-seed", "0"], "--bench-seed", "--accuracy", ["--accuracy", "benchmark"]),
    (SEARCH + ["--data", "d"], "--data", "--accuracy", ["--accuracy", "train"]),
    (SEARCH + ["--data", "d", "--strategy", "tpe"], "--data", "--strategy", DNAS),          # the last --strategy wins
    (SEARCH + ["--train-epochs", "2"], "--train-epochs", "--accuracy", ["--accuracy", "predictor"]),
    (SEARCH + ["--train-resolution", "16"], "--train-resolution", "--accuracy", DNAS),
    (SEARCH + DNAS + ["--accuracy", "train"], "--accuracy", "--strategy", ["--strategy", "tpe"]),
    (SEARCH + DNAS + ["--trials", "4"], "--trials", "--strategy", ["--strategy", "random"]),
    (SEARCH + ["--budget", "small", "--trials", "4"], "--budget", "--trials", DNAS[:0]),   # see test below
    (SEARCH + DNAS + ["--batch-size", "4"], "--batch-size", "--strategy", ["--strategy", "evolution"]),
    (SEARCH + ["--strategy", "random", "--seed-from", "fbnet_a"], "--seed-from", "--strategy",
     ["--strategy", "evolution"]),
    (SEARCH + ["--dnas-loss", "fbnet"], "--dnas-loss", "--strategy", DNAS),
    (SEARCH + ["--device-torch", "cuda"], "--device-torch", "--strategy", DNAS),
    (SEARCH + ["--dnas-sweep", "lam=0.5,2"], "--dnas-sweep", "--strategy", DNAS),
    (SEARCH + ["--objective", "pareto"], "--objective", "--strategy", ["--strategy", "nsga2"]),
    (SEARCH + DNAS + ["--storage", "sqlite:///s.db"], "--storage", "--strategy", ["--strategy", "tpe"]),
    (SEARCH + ["--study-name", "s"], "--study-name", "--storage", ["--storage", "sqlite:///s.db"]),
    (SEARCH + ["--backend", "ray"], "--backend", "--accuracy", ["--accuracy", "train"]),
    (SEARCH + DNAS + ["--backend", "ray"], "--backend", "--dnas-sweep", ["--dnas-sweep", "lam=0.5,2"]),
    (SEARCH + ["--ray-address", "auto"], "--ray-address", "--backend", RAY),
    (SEARCH + ["--workers", "2"], "--workers", "--backend", RAY),          # the default value, typed
    (SEARCH + ["--gpus-per-trial", "1"], "--gpus-per-trial", "--backend", RAY),
    (SEARCH + ["--ray-storage", "/tmp/r"], "--ray-storage", "--backend", RAY),
    (SEARCH + ["--early-stop", "asha"], "--early-stop", "--backend", RAY),
    *((PHONE + [flag, value], flag, "--device", ["--device", "local", "--unit", "ort_cpu"])
      for flag, value in (("--min-runs", "3"), ("--min-time", "1"), ("--max-runs", "9"), ("--passes", "2"),
                          ("--warmup", "1"), ("--clock", "wall"), ("--seed", "1"))),
    (PHONE + ["--replace"], "--replace", "--device", ["--device", "local", "--unit", "ort_cpu"]),
    (LOCAL + ["--workers", "2"], "--workers", "--device", ["--device", "iphone11", "--unit", "ane"]),
    (LOCAL + ["--compress", "lut4"], "--compress", "--device", ["--device", "iphone11", "--unit", "ane"]),
    (PHONE + ["--zoo", "mobilenet_v2", "--zoo-all"], "--zoo", "--zoo-all", []),   # see test below
    (LOCAL[:-4] + OP + ["--out", "t.yaml", "--calibrate", "12"], "--calibrate", "--space", ["--space", "fbnet"]),
    (PHONE[:-4] + ["--zoo", "mobilenet_v2", "--calibrate", "12"], "--calibrate", "--space", ["--space", "fbnet"]),
    (LOCAL + ["--validate", "12"], "--validate", "--device", ["--device", "iphone11", "--unit", "ane"]),
    (VALIDATE[:-2] + ["--manifest", "m.json"], "--manifest", "--results", ["--results", "r.jsonl"]),
    *((VALIDATE[:-2] + RESULTS + [flag, value], flag, "--results", None)
      for flag, value in (("--drift-networks", "0"), ("--unit", "ort_cpu"), ("--space", "fbnet"),
                          ("--samples", "3"), ("--seed", "1"), ("--table", "t.yaml"), ("--out", "v"),
                          ("--min-runs", "3"), ("--min-time", "1"))),
    (CALIBRATE + TODAY + ["--data", "f.yaml"], "--data", "--runtime", ["--runtime", "coreml-neuralnetwork-ios13"]),
    (CALIBRATE + TODAY + ["--add", "f.yaml"], "--add", "--runtime", ["--runtime", "coreml-neuralnetwork-ios13"]),
    (EXPORT + ["--weights", "w.pt", "--seed", "1"], "--seed", "--weights", None),
    (EXPORT + ["--labels", "l.txt", "--backbone-only"], "--labels", "--backbone-only", None),
    (["latency", "--model", "mobilenet_v2", "--device", "iphone11", "--unit", "ane", "--allow-other-device"],
     "--allow-other-device", "--table", ["--table", "t.yaml"]),
    (ESTIMATE + ["--space", "fbnet"], "--space", "--accuracy", ["--accuracy", "proxy"]),
    *((ESTIMATE + [flag, value], flag, "--accuracy", ["--accuracy", "train"])
      for flag, value in (("--data", "d"), ("--train-epochs", "2"), ("--train-resolution", "16"))),
    (ESTIMATE + ["--cache", "c.jsonl", "--no-cache"], "--cache", "--no-cache", None),
]

# Accepted as they stand: the requirement met, or a value that asks for nothing.
ACCEPTED = [
    SEARCH + ["--budget", "small"], SEARCH + ["--trials", "4"], SEARCH + DNAS + ["--budget", "small"],
    SEARCH + ["--seed-from", "fbnet_a"], SEARCH + ["--objective", "accuracy"], SEARCH + ["--early-stop", "none"],
    SEARCH + DNAS + ["--data", "d", "--train-resolution", "16", "--device-torch", "cpu", "--no-baselines"],
    SEARCH + DNAS + ["--backend", "ray", "--dnas-sweep", "lam=1,2", "--workers", "3", "--gpus-per-trial", "1"],
    SEARCH + RAY + ["--ray-address", "auto", "--workers", "4", "--early-stop", "asha", "--ray-storage", "s"],
    SEARCH + ["--strategy", "nsga2", "--objective", "pareto-all", "--storage", "sqlite:///s.db", "--study-name", "x"],
    PHONE + ["--zoo", "mobilenet_v2"], PHONE + ["--zoo-all", "--calibrate", "12", "--validate", "12"],
    PHONE[:-4] + ["--calibrate", "12", "--validate", "12"],            # nothing named: every shipped space
    PHONE[:-4] + OP + ["--calibrate", "0", "--validate", "0"], PHONE + ["--compress", "int8"], LOCAL + ["--validate", "0", "--calibrate", "12"],
    LOCAL + ["--resume", "--replace", "--clock", "wall", "--min-runs", "3"],
    VALIDATE + ["--samples", "3", "--seed", "1", "--min-runs", "3"], VALIDATE[:-2] + RESULTS + ["--json"],
    CALIBRATE + TODAY + ["--no-cv"], CALIBRATE + ["--add", "f.yaml"],
    EXPORT + ["--weights", "w.pt"], EXPORT + ["--labels", "l.txt"], EXPORT + ["--backbone-only", "--seed", "2"],
    ESTIMATE + ["--accuracy", "proxy", "--space", "fbnet"], ESTIMATE + ["--no-cache"], ESTIMATE + ["--cache", "c"],
]


def check(argv: list[str]) -> None:
    parser = make_parser()
    refuse_unread(parser, argv, parser.parse_args(argv))


def _ids(cases):
    return [f"{' '.join(c[0][:1])}:{c[1]}:{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("argv,flag,other,fix", CASES, ids=_ids(CASES))
def test_refused_without_its_requirement(argv, flag, other, fix, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.startswith("nas: error:")]
    assert len(lines) == 1 and err.strip() == lines[0], err
    assert lines[0].startswith(f"nas: error: {flag} ") and other in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []                 # nothing written: no --out, no lock file


@pytest.mark.parametrize("argv,flag,other,fix", [c for c in CASES if c[3]], ids=_ids([c for c in CASES if c[3]]))
def test_accepted_with_its_requirement(argv, flag, other, fix):
    check(argv + fix)


@pytest.mark.parametrize("argv", ACCEPTED, ids=[" ".join(a[:1] + a[-2:]) for a in ACCEPTED])
def test_accepted(argv):
    check(argv)


def test_conflicts_accepted_without_the_other_flag():
    check(SEARCH + ["--trials", "4"])                                # --budget left out
    check(SEARCH + ["--compress", "lut6"])                           # --no-export left out
    check(SEARCH + ["--compress", "lut6", "--no-export"])            # it prices with lut6 tables too
    check(PHONE + ["--zoo-all"])                                     # --zoo left out
    with pytest.raises(NasError, match="--trials cannot go with --strategy dnas"):
        check(SEARCH + DNAS + ["--budget", "small", "--trials", "4"])


def test_given_means_typed_not_equal_to_the_default():
    parser = make_parser()
    assert given_dests(parser, SEARCH + ["--workers", "2"]) >= {"workers", "space", "target_ms", "out"}
    assert "workers" not in given_dests(parser, SEARCH) and "accuracy" not in given_dests(parser, SEARCH)
    assert parser.parse_args(SEARCH).workers == 2                   # the defaults are back after the re-parse
    assert given_dests(parser, PHONE + ["--zoo-all"]) >= {"zoo_all", "device"}


def test_every_option_of_every_command_is_declared_or_independent():
    """A new option must be put in RULES (read only under a condition) or INDEPENDENT (always read)."""
    declared = {(r.command, r.option) for r in RULES}
    independent = {(c, o) for c, opts in INDEPENDENT.items() for o in opts}
    assert not declared & independent, declared & independent
    seen = set()
    for path, parser in leaf_commands(make_parser()):
        for a in parser._actions:
            if not a.option_strings or isinstance(a, argparse._HelpAction):
                continue
            flag = max(a.option_strings, key=len)
            seen.add((path, flag))
            assert (path, flag) in declared | independent, \
                f"`nas {' '.join(path)} {flag}`: declare it in nas/cli/flagdeps.py RULES or INDEPENDENT"
    assert declared | independent <= seen, (declared | independent) - seen      # no stale entries


def test_every_rule_has_a_hand_written_case():
    assert {(r.command, r.option) for r in RULES} <= {(tuple(a[:2]) if a[0] == "tables" else (a[0],), f)
                                                       for a, f, _, _ in CASES}


# A Python caller's settings that ask for a feature their other settings do not run (nas.search.needs): the
# library refuses them with the line `nas search` prints for the same flags, before anything is read or written.
LIBRARY = [
    (dict(bench_seed=0), SEARCH + ["--bench-seed", "0"]),
    (dict(strategy="dnas", accuracy="benchmark"), SEARCH + DNAS + ["--accuracy", "benchmark"]),
    (dict(dnas_sweep="lam=0.5,2"), SEARCH + ["--dnas-sweep", "lam=0.5,2"]),
    (dict(objective="pareto", strategy="tpe"), SEARCH + ["--objective", "pareto", "--strategy", "tpe"]),
    (dict(backend="ray", accuracy="proxy"), SEARCH + ["--backend", "ray", "--accuracy", "proxy"]),
    (dict(backend="ray", strategy="dnas"), SEARCH + DNAS + ["--backend", "ray"]),
    (dict(ray_address="auto"), SEARCH + ["--ray-address", "auto"]),
    (dict(early_stop="asha"), SEARCH + ["--early-stop", "asha"]),
    (dict(early_stop="asha", backend="ray", strategy="dnas", dnas_sweep="lam=1,2"),
     SEARCH + DNAS + ["--early-stop", "asha", "--backend", "ray", "--dnas-sweep", "lam=1,2"]),
]


@pytest.mark.parametrize("kw,argv", LIBRARY, ids=[a[len(SEARCH)] for _, a in LIBRARY])
def test_library_refuses_with_the_cli_line(kw, argv, tmp_path, monkeypatch, capsys):
    from nas.search.config import SearchConfig
    from nas.search.prepare import prepare
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NasError) as e:
        prepare(SearchConfig(space="fbnet", target_ms=8, out="o", **kw))
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"nas: error: {e.value}"
    assert list(tmp_path.iterdir()) == []


def test_library_reads_shared_settings_the_cli_refuses():
    """An experiment fills one config for dnas and evolution alike (experiments/dnas_fbnet/run.py): the numbers
    dnas does not read are not refused there, only on the command line where the user typed them."""
    from nas.search.config import SearchConfig
    from nas.search.needs import NEEDS, check_needs
    check_needs(SearchConfig(space="fbnet", target_ms=8, out="o", strategy="dnas", trials=40, accuracy="train",
                             train_epochs=2, train_resolution=16, batch_size=4, data="d"))
    assert {n.option for n in NEEDS if n.asked} == {"--bench-seed", "--accuracy", "--dnas-sweep", "--objective",
                                                    "--backend", "--ray-address", "--early-stop"}
    with pytest.raises(NasError, match="--trials cannot go with --strategy dnas"):
        check(SEARCH + DNAS + ["--trials", "40"])
