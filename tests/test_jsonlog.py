"""One rule for every append-only JSON-lines log a run reads back (``nas.jsonlog``, docs/robustness.md).

For each log (``dnas_runs.jsonl``, ``TABLE.partial.jsonl``, Ray's ``completed.jsonl``, ``trials.jsonl``,
the estimate cache), through its own reader and writer: a file cut mid-line by a kill loses only that
line, said once on stderr, and the next append leaves every record exactly once; a damaged line that is
not the last is refused naming the file and line, and the file is left as it was.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nas.errors import NasError
from nas.jsonlog import append_json_line, read_log
from search_fixtures import tiny_space, write_table

PROFILE_HEADER = {"unit": "ort_cpu", "runtime": "x", "protocol": {"passes": 2}, "clock": "thread"}


class _Runs:
    name = "dnas_runs.jsonl"

    def __init__(self, tmp_path):
        from nas.latency import SpacePricer, load_table
        from nas.search.dnas.records import result_from_record
        _, self.space = tiny_space(tmp_path)
        self.pricer = SpacePricer(self.space, load_table(write_table(self.space, tmp_path / "iphone11-ane.yaml")))
        choices = [int(c) for c in self.space.sample(np.random.default_rng(0), 1)[0]]
        cand = {"choices": choices, "latency_ms": float(self.pricer.price(np.array(choices))), "accuracy": 0.75,
                "source": "argmax"}
        self.result = result_from_record({"best": cand, "candidates": [cand], "expected_latency_ms": [3.0],
                                          "theta": [[0.5, 0.5]]}, self.space, self.pricer)

    def open(self, path, resume=True):
        from nas.search.dnas.sweep import RunsLog
        return RunsLog(path, resume=resume, space=self.space, pricer=self.pricer)

    def add(self, log, k):
        log.add({"lr_theta": k}, self.result)

    def keys(self, log):
        return sorted(json.loads(s)["lr_theta"] for s in log.done)


class _Partial:
    name = "t.yaml.partial.jsonl"

    def __init__(self, tmp_path):
        pass

    def open(self, path, resume=True):
        from nas.profiling.local import Progress
        return Progress(path, PROFILE_HEADER, resume=resume and path.exists())

    def add(self, log, k):
        log.add(f"op{k}", "op", 0, [1.0 + k])

    def keys(self, log):
        return sorted(int(r["id"][2:]) for r in log.rows)


class _Completed:
    name = "completed.jsonl"

    def __init__(self, tmp_path):
        pytest.importorskip("ray")

    def open(self, path, resume=True):
        from nas.search.backends.ray_tune import CompletedLog
        return CompletedLog(path, resume=resume)

    def add(self, log, k):
        log.add({"arch": f"a{k}", "accuracy": 0.5, "epoch": 3, "retries": 0, "restored_from_epoch": 0})

    def keys(self, log):
        return sorted(int(a[1:]) for a in log.records)


class _Trials:
    name = "trials.jsonl"

    def __init__(self, tmp_path):
        self.dir = tmp_path

    def open(self, path, resume=True):
        from nas.search.storage import TrialLog
        log = TrialLog(self.dir)
        log.stored = log.open({"seed": 1}, resume=resume)
        return log

    def add(self, log, k):
        from nas.search.storage import Trial
        from nas.search.strategies.base import Result, Status
        log.append(Trial(k, Result((k,), Status("OK"), {"accuracy": 0.5, "latency_ms": 1.0}), f"a{k}", "x", 0.0))
        log.close()
        log.open({"seed": 1}, resume=True)

    def keys(self, log):
        return [t.index for t in log.stored]


class _Cache:
    name = "cache.jsonl"

    def __init__(self, tmp_path):
        pass

    def open(self, path, resume=True):
        from nas.search.accuracy.cache import ScoreCache
        return ScoreCache(path)

    def add(self, log, k):
        log.put(f"k{k}", f"a{k}", float(k), "proxy")

    def keys(self, log):
        return sorted(int(k[1:]) for k in log.entries)


LOGS = [_Runs, _Partial, _Completed, _Trials, _Cache]


@pytest.fixture(params=LOGS, ids=lambda c: c.name)
def log_kind(request, tmp_path):
    kind = request.param(tmp_path)
    path = tmp_path / kind.name
    log = kind.open(path, resume=False)
    for k in range(3):
        kind.add(log, k)
    if isinstance(kind, _Trials):
        log.close()
    return kind, path


def test_interrupted_write_loses_only_that_line_and_resume_duplicates_nothing(log_kind, capsys):
    kind, path = log_kind
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:17])              # a kill 17 bytes into record 2
    capsys.readouterr()
    log = kind.open(path)
    assert kind.keys(log) == [0, 1]                                      # record 2 is redone
    err = capsys.readouterr().err
    assert err.count(f"{kind.name}: dropped a torn last line (17 bytes, an interrupted write)") == 1, err
    kind.add(log, 2)                                                     # its work, redone, appended
    if isinstance(kind, _Trials):
        log.close()
    assert len(path.read_bytes().splitlines()) == len(lines)             # the fragment is gone, nothing twice
    assert kind.keys(kind.open(path)) == [0, 1, 2]
    assert "torn" not in capsys.readouterr().err


@pytest.mark.parametrize("damage, why", [
    (lambda l: l[:-9] + b"\n", "not JSON"),                              # cut, but not the last line
    (lambda l: b"[1, 2]\n", "a JSON list, not an object"),
    (lambda l: b'"text"\n', "a JSON str, not an object"),
    (lambda l: l.replace(b"{", b"{\"x\": \xff\xfe, ", 1), "not UTF-8"),
    (lambda l: l.replace(b"{", b'{"a": 1, "a": 2, ', 1), "duplicate key 'a'"),
])
def test_damaged_middle_line_is_refused_naming_file_and_line(log_kind, damage, why):
    kind, path = log_kind
    lines = path.read_bytes().splitlines(keepends=True)
    n = len(lines) - 1                                                   # the second-to-last line
    lines[n - 1] = damage(lines[n - 1])
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    with pytest.raises(NasError) as e:
        kind.open(path)
    assert str(e.value).startswith(f"{path}: line {n}: ") and why in str(e.value), str(e.value)
    assert path.read_bytes() == before                                   # nothing rewritten


def test_read_log_rule(tmp_path, capsys):
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a": 1}\n\n  \n{"b": 2}\n{"c"')
    assert read_log(f, "a log") == [(1, {"a": 1}), (4, {"b": 2})]       # blank lines hold nothing
    assert capsys.readouterr().err == f"nas: {f}: dropped a torn last line (4 bytes, an interrupted write); " \
                                      f"its work is redone\n"
    append_json_line(f, {"d": 3})
    assert f.read_bytes() == b'{"a": 1}\n\n  \n{"b": 2}\n{"d": 3}\n'
    f.write_bytes(b'{"a": 1}\n' + b"x" * 200_000)                        # a torn tail longer than a read chunk
    append_json_line(f, {"d": 3})
    assert f.read_bytes() == b'{"a": 1}\n{"d": 3}\n'
    f.write_bytes(b"x" * 10)
    append_json_line(f, {"d": 3})
    assert f.read_bytes() == b'{"d": 3}\n'
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(NasError, match="dir.jsonl: cannot read a log"):
        read_log(tmp_path / "dir.jsonl", "a log")


def test_search_resume_through_the_cli(tmp_path, capsys):
    from nas.cli import main
    from test_bad_input import files_in, refused, search_args
    space_path, space = tiny_space(tmp_path)
    t = space_path, write_table(space, tmp_path / "iphone11-ane.yaml")
    out = tmp_path / "out"
    assert main([str(a) for a in search_args(t, out, "--trials", "3")]) == 0
    log = out / "trials.jsonl"
    good = log.read_bytes()
    lines = good.splitlines(keepends=True)
    for damaged, why in [(lines[1][:-9] + b"\n", "line 2: not JSON"),
                         (lines[1].replace(b'{"', b'{"trial": 9, "', 1), "line 2: not JSON (duplicate key 'trial'")]:
        log.write_bytes(lines[0] + damaged + b"".join(lines[2:]))
        before = {f: (out / f).read_bytes() for f in files_in(out)}
        refused(capsys, search_args(t, out, "--trials", "4", "--resume"), f"{log}: {why}")
        assert {f: (out / f).read_bytes() for f in files_in(out)} == before     # nothing written
    log.write_bytes(good[:-20])                                          # trial 2 cut by a kill
    assert main([str(a) for a in search_args(t, out, "--trials", "4", "--resume")]) == 0
    assert "trials.jsonl: dropped a torn last line" in capsys.readouterr().err
    assert [json.loads(l).get("trial") for l in log.read_text().splitlines()] == [None, 0, 1, 2, 3]
