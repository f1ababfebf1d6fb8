"""Shared fixtures for search tests: a tiny space and synthetic latency tables built from its factors."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from nas.latency import LatencyTable, SpacePricer, Stat, load_table, save_table
from nas.ops.features import block_features
from nas.search.session import SearchConfig
from nas.spaces import load_space_file

TINY_SPACE = """\
name: tiny
kind: layerwise
description: a tiny layer-wise space for tests
input_size: 32
stem: [conv_k3_s2_c8]
stages:
  - {c: 8, n: 2, s: 1}
  - {c: 16, n: 2, s: 2}
candidates: [ir_k3_e1, ir_k3_e3, ir_k5_e3, ir_k5_e6, skip]
head: [conv_k1_s1_c32, gap, fc_c10]
"""


def tiny_space(tmp_path: Path):
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY_SPACE)
    return p, load_space_file(p)


def space_layers(space):
    return {l.key: l for f in space.factors for ls in f.layers for l in ls}


def synthetic_table(space, device="iphone11", unit="ane", extra_nets=()) -> LatencyTable:
    """A deterministic per-key cost: MACs-proportional plus a fixed per-key jitter."""
    layers = space_layers(space)
    for net in extra_nets:
        from nas.arch import resolve
        layers.update({l.key: l for l in resolve(net)})
    entries = {}
    for key, l in sorted(layers.items()):
        macs = block_features(l.block, l.in_shape).macs
        jitter = (zlib.crc32(key.encode()) % 100) / 1000.0
        entries[key] = Stat(0.01 + macs / 2e7 + jitter, n=20)
    return LatencyTable(device, unit, "predicted", {"model": "synthetic", "model_version": "test"},
                        Stat(0.2, n=20), entries)


def write_table(space, path: Path, **kw) -> Path:
    save_table(synthetic_table(space, **kw), path)
    return path


@pytest.fixture
def setup(tmp_path):
    """(folder, space path, space, table path, target): the target is the 40th latency percentile."""
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "iphone11-ane.yaml")
    lat = SpacePricer(space, load_table(table)).price(space.sample(np.random.default_rng(0), 2000))
    return tmp_path, space_path, space, table, float(np.percentile(lat, 40))


def config(setup, out="out", **kw):
    """A small search on the tiny space (16 trials, no export, no baselines); ``kw`` overrides."""
    tmp, space_path, _, table, target = setup
    base = dict(space=str(space_path), target_ms=target, out=str(tmp / out), table=str(table), trials=16,
                export=False, proxy_resolution=32, baselines=False)
    return SearchConfig(**(base | kw))


def stored(out):
    """The trial log's records without wall times (which differ between runs)."""
    lines = (out / "trials.jsonl").read_text().splitlines()[1:]
    return [{k: v for k, v in json.loads(l).items() if k != "wall_s"} for l in lines]
