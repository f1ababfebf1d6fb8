"""`nas search --compress` and `nas export --compress` price on a table of those weights when one exists.

The tables are written here by hand with round numbers, so the expected prices are hand sums: a lut4
table whose every entry is 0.25 ms over a 0.5 ms per-network overhead prices a network of k layers at
0.5 + 0.25 k ms, whatever the (different, synthetic) fp16 table says.
"""

from __future__ import annotations

import numpy as np
import pytest

from nas.arch.dsl import parse_net
from nas.export import ExportOptions, export_package
from nas.latency import LatencyTable, Stat, save_table
from nas.search.prepare import prepare
from nas.search.session import execute
from search_fixtures import config, setup, space_layers  # noqa: F401  (setup is a fixture)


def lut4_table(keys, ms=0.25, overhead=0.5, device="iphone11", unit="ane") -> LatencyTable:
    return LatencyTable(device, unit, "measured", {"hardware": "iPhone12,1", "os": "iOS 17.5"}, Stat(overhead),
                        {k: Stat(ms) for k in keys}, weights="lut4")


@pytest.fixture
def user_tables(setup, monkeypatch):
    """NAS_TABLES_DIR with the tiny space's fp16 table (synthetic, predicted) and a hand lut4 table."""
    tmp, _, space, fp16_path, _ = setup
    mine = tmp / "mine"
    mine.mkdir()
    (mine / "iphone11-ane.yaml").write_bytes(fp16_path.read_bytes())
    save_table(lut4_table(space_layers(space)), mine / "iphone11-ane.lut4.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    return mine


def test_search_prices_on_the_lut4_table(setup, user_tables):
    _, _, space, _, _ = setup
    # The tiny space (search_fixtures.TINY_SPACE): a stem, 2 + 2 stage layers, a 3-layer head; all-zero
    # choices take ir_k3_e1 everywhere (no skip): 8 layers.
    prep = prepare(config(setup, "c", table=None, device="iphone11", unit="ane", compress="lut4", target_ms=2.6))
    assert prep.table.weights == "lut4" and prep.table_info["weights"] == "lut4"
    assert prep.pricer.price(np.zeros(len(space.decisions), dtype=int)) == pytest.approx(0.5 + 8 * 0.25)
    assert not any("weights" in n for n in prep.notes)
    summary = execute(prep)
    assert summary["table"]["weights"] == "lut4"
    assert summary["best"]["latency_ms"] == pytest.approx(0.5 + 8 * 0.25)   # a skip is a layer of its own too


def test_search_without_a_table_of_those_weights_prices_fp16_and_says_so(setup, user_tables):
    prep = prepare(config(setup, "d", table=None, device="iphone11", unit="ane", compress="int8"))
    assert prep.table.weights == "fp16" and prep.table.method == "predicted"
    assert any("no latency table of int8 weights for iphone11/ane" in n and "price fp16 weights" in n
               for n in prep.notes)
    fp16 = prepare(config(setup, "e", table=None, device="iphone11", unit="ane"))
    assert fp16.table.weights == "fp16" and not any("weights" in n for n in fp16.notes)


def test_search_refuses_a_given_table_of_other_weights(setup, user_tables):
    from nas.latency import TableError
    with pytest.raises(TableError, match="table prices lut4 weights, not fp16"):
        prepare(config(setup, "f", table=str(user_tables / "iphone11-ane.lut4.yaml")))
    prep = prepare(config(setup, "g", table=str(user_tables / "iphone11-ane.lut4.yaml"), compress="lut4",
                          target_ms=2.6))
    assert prep.table.weights == "lut4"


def test_export_quotes_the_lut4_table(tmp_path, monkeypatch):
    small, big = "conv_k3_s1_c32@3x8x8", "conv_k3_s1_c32@32x8x8"
    save_table(lut4_table([small, big], ms=0.2, overhead=0.1), tmp_path / "iphone11-ane.lut4.yaml")
    monkeypatch.setenv("NAS_TABLES_DIR", str(tmp_path))
    net = parse_net("8:conv_k3_s1_c32|conv_k3_s1_c32", name="two")
    meta = export_package(net, tmp_path / "m.mlpackage", options=ExportOptions(compress="lut4")).metadata
    assert meta["nas.latency.iphone11.ane_ms"] == "0.500"                  # 0.1 + 0.2 + 0.2
    assert "weights lut4" in meta["nas.latency.iphone11.ane_source"]
    assert meta["nas.latency_weights"].startswith("the nas.latency figures price lut4 weights for ane and fp16 "
                                                  "weights for cpu, gpu")
    plain = export_package(net, tmp_path / "p.mlpackage").metadata          # fp16 export: never the lut4 table
    assert "nas.latency.iphone11.ane_ms" not in plain and "nas.latency_weights" not in plain
