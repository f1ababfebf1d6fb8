"""Regression tests for the hostile-input audit of the files a resumed run trusts (docs/robustness.md):
``dnas_runs.jsonl`` records, ``profile-ops --resume`` partial files and ``--data`` image folders.

Each crafted file was accepted silently or gave a traceback; each expectation is the field (or line)
the refusal must name, written by hand.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nas.errors import NasError
from nas.latency import SpacePricer, load_table
from search_fixtures import tiny_space, write_table


# -- dnas_runs.jsonl: a well-typed record with wrong values was reused as a finished run ----------

@pytest.fixture
def runs(tmp_path):
    from nas.search.dnas.sweep import RunsLog
    _, space = tiny_space(tmp_path)
    pricer = SpacePricer(space, load_table(write_table(space, tmp_path / "iphone11-ane.yaml")))
    choices = [int(c) for c in space.sample(np.random.default_rng(0), 1)[0]]
    cand = {"choices": choices, "latency_ms": float(pricer.price(np.array(choices))), "accuracy": 0.75,
            "source": "argmax"}
    rec = {"settings": {"lr_theta": 0.1}, "result": {"best": cand, "candidates": [cand],
                                                      "expected_latency_ms": [3.0, 2.5], "theta": [[0.5, 0.5]]}}
    path = tmp_path / "dnas_runs.jsonl"

    def load(mutate=None):
        r = json.loads(json.dumps(rec))
        if mutate:
            mutate(r)
        path.write_text(json.dumps(r) + "\n")
        return RunsLog(path, resume=True, space=space, pricer=pricer)
    load.reopen = lambda: RunsLog(path, resume=True, space=space, pricer=pricer)
    load.pricer = pricer
    return load, space


def test_runs_valid_record_is_reused(runs):
    load, _ = runs
    got = load().get({"lr_theta": 0.1})
    assert got is not None and got.best.accuracy == 0.75 and got.expected_latency_ms == [3.0, 2.5]


def _set(path, value):
    def mutate(r):
        d = r
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return mutate


@pytest.mark.parametrize("path, value, field", [
    (("result", "best", "latency_ms"), float("nan"), "result.best.latency_ms"),
    (("result", "best", "latency_ms"), -1.0, "result.best.latency_ms"),
    (("result", "best", "latency_ms"), 0.001, "result.best.latency_ms"),        # not the table's price
    (("result", "best", "accuracy"), 10**400, "result.best.accuracy"),           # an OverflowError
    (("result", "best", "accuracy"), 75.0, "result.best.accuracy"),
    (("result", "best", "accuracy"), float("inf"), "result.best.accuracy"),
    (("result", "best", "choices"), [0], "result.best.choices"),                  # another space
    (("result", "best", "choices"), [99] * 5, "result.best.choices"),
    (("result", "best", "source"), "oracle", "result.best.source"),
    (("result", "candidates"), [], "result.candidates"),
    (("result", "expected_latency_ms"), [float("nan")], "result.expected_latency_ms.0"),
    (("result", "theta"), [[2.0]], "result.theta.0"),
    (("result", "extra"), 1, "field result:"),
    (("settings",), [1], "field (root)"),
])
def test_runs_wrong_values_are_refused(runs, path, value, field):
    load, _ = runs
    with pytest.raises(NasError) as e:                                  # was: reused, no training
        load(_set(path, value))
    assert "dnas_runs.jsonl: line 1: " in str(e.value) and field in str(e.value), str(e.value)


def test_runs_best_not_among_candidates_is_refused(runs):
    load, _ = runs
    def mutate(r):
        r["result"]["candidates"][0] = dict(r["result"]["best"], source="sample")
    with pytest.raises(NasError, match="field result.best: is not one of the candidates"):
        load(mutate)


def test_runs_torn_last_line_is_redone(runs, tmp_path):
    load, _ = runs
    load()
    f = tmp_path / "dnas_runs.jsonl"
    f.write_text(f.read_text() + '{"settings": {"lr_theta": 0.3}, "result": {"be')     # a kill mid-write
    log = load.reopen()
    assert log.get({"lr_theta": 0.1}) is not None and log.get({"lr_theta": 0.3}) is None


# -- profile-ops --resume: TABLE.partial.jsonl ---------------------------------------------------

HEADER = {"unit": "ort_cpu", "runtime": "x", "protocol": {"passes": 2}, "clock": "thread"}
ROW_A0 = '{"id": "conv/a", "kind": "op", "pass": 0, "ms": [1.5, 1.25]}'
ROW_A1 = '{"id": "conv/a", "kind": "op", "pass": 1, "ms": [1.0]}'


def _partial(tmp_path, *lines, torn=""):
    f = tmp_path / "t.yaml.partial.jsonl"
    f.write_text(json.dumps(HEADER) + "\n" + "\n".join(lines) + "\n" + torn)
    return f


def test_partial_torn_last_line_resumes_without_loss_or_duplicates(tmp_path):
    from nas.profiling.local import Progress
    f = _partial(tmp_path, ROW_A0, ROW_A1, torn=ROW_A0[:30])
    p = Progress(f, HEADER, resume=True)
    assert p.passes_done("conv/a") == {0, 1} and p.samples("conv/a") == [1.5, 1.25, 1.0]
    assert f.read_text().count('"conv/a"') == 2                        # the torn line is gone from the file
    p = Progress(f, HEADER, resume=True)                                # and a second resume reads the same
    assert p.samples("conv/a") == [1.5, 1.25, 1.0]


@pytest.mark.parametrize("row, line, field", [
    ("garbage{", 2, "not JSON"),                                        # not the last line: refused
    (ROW_A0, 3, "field id: 'conv/a' pass 0 repeats line 2"),            # was: samples counted twice
    (ROW_A0.replace("[1.5, 1.25]", "[NaN]"), 3, "field ms"),            # was: NaN in the median
    (ROW_A0.replace("[1.5, 1.25]", "[-3.0]"), 3, "field ms"),
    (ROW_A0.replace("[1.5, 1.25]", "[" + "9" * 400 + "]"), 3, "field ms"),
    (ROW_A0.replace("[1.5, 1.25]", "[]"), 3, "field ms"),
    (ROW_A0.replace('"pass": 0', '"pass": 7'), 3, "field pass"),         # was: counted as done
    (ROW_A0.replace('"pass": 0', '"pass": -1'), 3, "field pass"),
    (ROW_A0.replace('"kind": "op", ', ""), 3, "field (root)"),
])
def test_partial_bad_lines_are_refused_naming_line_and_field(tmp_path, row, line, field):
    from nas.profiling.local import Progress
    lines = [row, ROW_A0] if "not JSON" in field else [ROW_A0, row, ROW_A1]
    f = _partial(tmp_path, *lines)
    before = f.read_bytes()
    with pytest.raises(NasError) as e:
        Progress(f, HEADER, resume=True)
    assert f"t.yaml.partial.jsonl: line {line}" in str(e.value) and field in str(e.value), str(e.value)
    assert f.read_bytes() == before                                     # nothing rewritten on a refusal


# -- --data image folders ---------------------------------------------------------------------------

def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds almost none (by hand, per the spec)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("content, why", [
    (_png_header(20_000, 20_000), "image size: (400000000 pixels) exceeds"),   # was: DecompressionBombError
    (_png_header(10_000, 10_000), "image size: (100000000 pixels) exceeds"),   # was: a warning, then decoded (300 MB)
    (b"", "cannot read the image"),
    (b"not an image at all\n", "cannot read the image"),
    (_png_header(64, 64)[:40], "cannot read the image"),
])
def test_data_bad_images_are_refused(tmp_path, capsys, content, why):
    from test_backends import image_folder
    from test_bad_input import refused
    data = image_folder(tmp_path / "images", n=2, size=8)
    bad = data / "left" / "zz.png"
    bad.write_bytes(content)
    archs = tmp_path / "archs.txt"
    archs.write_text("32:conv_k3_s2_c8|gap,fc_c10\n")
    line = refused(capsys, ["estimate", "--archs", archs, "--accuracy", "train", "--data", data, "--no-cache"],
                   bad, why)
    assert "decompression bomb" in line or "image size" not in why


# -- Ray completed.jsonl: an accuracy outside [0, 1] was reused as a trained candidate's score --------

@pytest.mark.parametrize("acc", [75.0, -0.1])
def test_ray_completed_accuracy_out_of_range_is_refused(tmp_path, acc):
    pytest.importorskip("ray")
    from nas.search.backends.ray_tune import CompletedLog
    f = tmp_path / "completed.jsonl"
    good = {"arch": "a", "accuracy": 0.5, "epoch": 3, "retries": 0, "restored_from_epoch": 0}
    f.write_text(json.dumps(good) + "\n" + json.dumps(dict(good, arch="b", accuracy=acc)) + "\n")
    before = f.read_bytes()
    with pytest.raises(NasError, match=r"completed.jsonl: line 2: field accuracy: "):   # was: reused, then skipped
        CompletedLog(f, resume=True)
    assert f.read_bytes() == before


# -- a Ray sweep's results, checked in Tune's callback like a dnas_runs.jsonl line --------------------

def test_ray_sweep_result_is_checked_and_a_bad_one_counts_as_failed(runs, tmp_path):
    from nas.search.dnas.sweep import Collect, RunsLog
    load, space = runs
    load()
    good = json.loads((tmp_path / "dnas_runs.jsonl").read_text())["result"]
    log = RunsLog(tmp_path / "ray_runs.jsonl", resume=False, space=space, pricer=load.pricer)
    grid = [{"lr_theta": v} for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    collect = Collect(log, grid, [0, 1, 2, 3, 4], space, load.pricer)
    collect.result(0, {"epoch": 1})                                        # not the last epoch: nothing
    collect.result(0, {"result": json.dumps(good)})
    collect.result(1, {"result": json.dumps(dict(good, theta=[[7.0]]))})
    collect.result(2, {"result": "{not json"})
    collect.result(3, {"result": 5})
    collect.result(4, {"result": json.dumps(good).replace('{"best"', '{"best": 0, "best"', 1)})
    assert log.get(grid[0]) is not None and all(log.get(g) is None for g in grid[1:])
    assert collect.failed[1] == "its result was refused: field result.theta.0: 7.0 is not a finite number in [0, 1]"
    assert "Expecting property name" in collect.failed[2]
    assert "JSON text" in collect.failed[3] and "duplicate key 'best'" in collect.failed[4]
    assert len((tmp_path / "ray_runs.jsonl").read_text().splitlines()) == 1
