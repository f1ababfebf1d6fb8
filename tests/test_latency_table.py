"""Latency tables: round trip, refusal of bad tables, pricing (single and vectorized)."""

import numpy as np
import pytest

from nas.arch import resolve
from nas.latency import LatencyTable, MissingEntry, SpacePricer, Stat, TableError, load_table, price_net, save_table
from nas.spaces import load_space


def fake_table(keys, device="local", unit="ort_cpu"):
    entries = {k: Stat(0.01 * (1 + len(k) % 7), 0.009, 0.012, n=20) for k in sorted(keys)}
    return LatencyTable(device, unit, "measured", {"hardware": "test", "runtime": "none", "date": "2026-11-28"},
                        Stat(0.5, n=20), entries)


def fbnet_table():
    s = load_space("fbnet")
    keys = {l.key for f in s.factors for ls in f.layers for l in ls}
    return s, fake_table(keys)


def test_round_trip(tmp_path):
    _, t = fbnet_table()
    p = tmp_path / "t.yaml"
    save_table(t, p)
    back = load_table(p)
    assert back.entries == t.entries and back.overhead == t.overhead and back.provenance == t.provenance
    text = p.read_text()
    assert text.count("\n") > len(t.entries)  # one entry per line


def corrupt(tmp_path, fn):
    _, t = fbnet_table()
    p = tmp_path / "t.yaml"
    save_table(t, p)
    p.write_text(fn(p.read_text()))
    return p


@pytest.mark.parametrize("fn,field", [
    (lambda s: s.replace("method: measured\n", ""), "method"),
    (lambda s: s.replace("unit: ort_cpu", "unit: tpu"), "unit"),
    (lambda s: s.replace("time_unit: ms", "time_unit: s"), "time_unit"),
    (lambda s: s.replace("median_ms: 0.01,", "median_ms: .nan,", 1), "median_ms"),
    (lambda s: s.replace("median_ms: 0.01,", "median_ms: -0.01,", 1), "median_ms"),
    (lambda s: s[: s.rindex("\n  ")] + "\n", "entry_count"),           # truncated at a line
])
def test_bad_tables_rejected(tmp_path, fn, field):
    with pytest.raises(TableError) as e:
        load_table(corrupt(tmp_path, fn))
    assert e.value.field == field and str(tmp_path) in str(e.value)


def test_duplicate_key_and_truncated_mid_line(tmp_path):
    p = corrupt(tmp_path, lambda s: s + s[s.index("entries:\n") + 9:].splitlines()[0] + "\n")
    with pytest.raises(TableError, match="duplicate"):
        load_table(p)
    p = corrupt(tmp_path, lambda s: s[: len(s) - 20])
    with pytest.raises(TableError):
        load_table(p)


def test_refuses_other_device_unless_told(tmp_path):
    _, t = fbnet_table()
    p = tmp_path / "t.yaml"
    save_table(t, p)
    with pytest.raises(TableError) as e:
        load_table(p, device="iphone11", unit="ort_cpu")
    assert e.value.field == "device"
    with pytest.raises(TableError) as e:
        load_table(p, device="local", unit="ane")
    assert e.value.field == "unit"
    assert load_table(p, device="iphone11", allow_mismatch=True).device == "local"


def test_vectorized_price_equals_sum_of_layers():
    s, t = fbnet_table()
    pricer = SpacePricer(s, t)
    choices = s.sample(np.random.default_rng(0), 200)
    batch = pricer.price(choices)
    for c, b in zip(choices[:20], batch[:20]):
        p = price_net(s.decode(c), t)
        assert abs(p.total_ms - b) < 1e-9
        assert abs(p.total_ms - p.overhead_ms - sum(l.ms for l in p.layers)) < 1e-12
    fastest = pricer.fastest_ms()
    assert fastest <= batch.min()


def test_missing_entry_names_key_and_how_to_profile():
    s, t = fbnet_table()
    net = s.decode([0] * 22)
    key = resolve(net)[3].key
    del t.entries[key]
    with pytest.raises(MissingEntry) as e:
        price_net(net, t)
    assert key in str(e.value) and "nas profile-ops" in str(e.value)
