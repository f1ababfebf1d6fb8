"""NAS-Bench-Macro as shipped: our description of its space reproduces its recorded params and FLOPs
for every one of its 6,561 architectures (the benchmark's numbers, not ours), and a bad file is refused."""

import json

import numpy as np
import pytest

from nas.arch.counts import count
from nas.errors import SpecError
from nas.spaces import load_benchmark, load_space
from nas.spaces.benchmark import _load


@pytest.fixture(scope="module")
def bench():
    space = load_space("nasbench_macro")
    return space, load_benchmark(space)


def test_every_architecture_matches_the_benchmarks_params_and_flops(bench):
    space, b = bench
    assert len(b) == 6561 == space.size()
    bad = []
    for key, choices, params, flops in zip(b.keys, b.choices, b.params, b.flops):
        c = count(space.decode(choices))
        if (c.params, c.macs) != (int(params), int(flops)):
            bad.append((key, c.params, int(params), c.macs, int(flops)))
    assert not bad, bad[:5]


def test_recorded_values(bench):
    # Values read off the benchmark file by hand: the paper's best architecture and one other.
    _, b = bench
    assert b.accuracy([2, 2, 2, 1, 2, 2, 2, 0]) == pytest.approx(93.1267, abs=1e-3)
    assert b.accuracy([0, 2, 0, 1, 2, 1, 0, 0], seed=1) == pytest.approx(88.95, abs=1e-2)
    assert b.index([0] * 9) is None and b.accuracy([3] * 8) is None


def _bad_file(tmp_path, records):
    space = load_space("nasbench_macro")
    f = tmp_path / "b.json"
    f.write_text(json.dumps(records))
    info = type(space.benchmark)(f, "m", "", "")
    return lambda: _load(info, tuple(int(c) for c in space.cardinalities))


@pytest.mark.parametrize("records, field", [
    ({"0000000": {}}, "key"),
    ({"00000003": {"test_acc": [1], "mean_acc": 1, "std": 0, "params": 1, "flops": 1}}, "key"),
    ({"00000000": {"test_acc": [float("nan")], "mean_acc": 1, "std": 0, "params": 1, "flops": 1}}, "test_acc"),
    ({"00000000": {"test_acc": [1], "mean_acc": 1, "std": 0, "params": 1.5, "flops": 1}}, "params"),
    ({"00000000": {"test_acc": [1], "mean_acc": 1}}, None),
])
def test_bad_benchmark_files_are_refused(tmp_path, records, field):
    with pytest.raises(SpecError) as e:
        _bad_file(tmp_path, records)()
    assert str(tmp_path) in str(e.value)
    if field:
        assert e.value.field == field


def test_space_without_benchmark_is_refused():
    with pytest.raises(SpecError, match="no benchmark"):
        load_benchmark(load_space("fbnet"))
