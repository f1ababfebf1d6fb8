"""Local profiling: op enumeration, the protocol, resuming, the correction, and the CLI around tables."""

import json
import statistics

import numpy as np
import pytest

from nas.cli import main
from nas.errors import NasError, SpecError
from nas.latency import LatencyTable, Stat, load_table, save_table
from nas.profiling import correction
from nas.profiling.local import Progress
from nas.profiling.localrun import profile_local
from nas.profiling.measure import Protocol, summarize
from nas.profiling.ops import collect, parse_op_key, space_ops
from nas.spaces import load_space

SMALL = ["ir_k3_s1_e1_c184_g2@184x7x7", "skip_s1_c184@184x7x7", "gap@1984x7x7"]
TINY = Protocol(warmup_runs=1, min_runs=4, min_time_s=0.0, max_runs=4, passes=2)


def test_space_ops_cover_every_layer_once():
    space = load_space("fbnet")
    ops = space_ops(space)
    keys = [o.key for o in ops]
    assert len(keys) == len(set(keys)) == 112
    assert set(keys) == {l.key for f in space.factors for row in f.layers for l in row}
    assert keys[0].startswith("conv_k3_s2_c16@3x224x224") and "fc_c1000@1984x1x1" in keys
    for o in ops[:5]:
        assert parse_op_key(o.key) == o


def test_op_keys_are_checked():
    with pytest.raises(SpecError, match="BLOCK@CxHxW"):
        parse_op_key("ir_k3_s1_e1_c16")
    with pytest.raises(SpecError, match="canonical"):
        parse_op_key("ir_c16_k3_s1_e1@16x112x112")  # tokens out of order
    with pytest.raises(SpecError, match="nothing to profile"):
        collect()


def test_summarize_statistics():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.median_ms, s.mad_ms, s.n) == (3.0, 1.0, 5)
    assert s.p10_ms == pytest.approx(1.4) and s.p90_ms == pytest.approx(61.6)


def test_profile_small_ops_locally(tmp_path):
    entries = collect(keys=SMALL)
    out = tmp_path / "local.yaml"
    table = profile_local(entries, "ort_cpu", out, protocol=TINY)
    back = load_table(out, device="local", unit="ort_cpu")
    assert set(back.entries) == set(SMALL) and back.method == "measured"
    assert all(e.n == 4 and e.median_ms >= 0 for e in back.entries.values())
    assert back.entries["ir_k3_s1_e1_c184_g2@184x7x7"].median_ms > 0
    p = back.provenance
    assert p["runtime"] == "onnxruntime" and p["hardware"] and p["os"] and p["date"]
    assert p["protocol"]["passes"] == 2 and p["correction"] is None
    assert table.overhead.median_ms > 0
    assert not (tmp_path / "local.yaml.partial.jsonl").exists() and (tmp_path / "local.yaml.samples.jsonl").exists()


def test_interrupted_profile_resumes_without_remeasuring(tmp_path):
    entries = collect(keys=SMALL)
    out = tmp_path / "t.yaml"
    partial = tmp_path / "t.yaml.partial.jsonl"

    def stop_after_4(n):
        if n == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        profile_local(entries, "torch_cpu", out, protocol=TINY, hook=stop_after_4)
    before = [json.loads(l) for l in partial.read_text().splitlines()[1:]]
    assert sum(r["kind"] == "op" for r in before) == 4 and not out.exists()
    with pytest.raises(NasError, match="--resume"):
        profile_local(entries, "torch_cpu", out, protocol=TINY)
    with partial.open("a") as f:
        f.write('{"id": "torn')  # a crash mid-line is dropped on resume
    calls = []
    table = profile_local(entries, "torch_cpu", out, protocol=TINY, resume=True, hook=calls.append)
    assert len(calls) == 2 * len(SMALL) - 4  # only the missing (op, pass) slices were measured
    assert set(table.entries) == set(SMALL)
    # The slices measured before the interruption are in the final samples unchanged (not measured
    # again), and every entry is the protocol's statistic over old and new samples, by hand:
    # median of the op's samples minus the median of the per-call overhead samples, floored at 0.
    after = [json.loads(l) for l in (tmp_path / "t.yaml.samples.jsonl").read_text().splitlines()[1:]]
    kept = {(r["id"], r["pass"]): r["ms"] for r in before}
    final = {(r["id"], r["pass"]): r["ms"] for r in after}
    assert kept and all(final[k] == ms for k, ms in kept.items())
    overhead = statistics.median(ms for r in after if r["kind"] == "overhead" for ms in r["ms"])
    assert table.overhead.median_ms == pytest.approx(overhead, abs=1e-12)
    for key in SMALL:
        samples = [ms for r in after if r["id"] == key for ms in r["ms"]]
        assert len(samples) == table.entries[key].n == 4
        assert table.entries[key].median_ms == pytest.approx(max(0.0, statistics.median(samples) - overhead), abs=1e-9)


def test_resume_refuses_other_settings(tmp_path):
    path = tmp_path / "p.jsonl"
    Progress(path, {"unit": "ort_cpu", "runtime": "x", "protocol": {"a": 1}, "clock": "thread"}, resume=False)
    with pytest.raises(NasError, match="unit"):
        Progress(path, {"unit": "torch_cpu", "runtime": "x", "protocol": {"a": 1}, "clock": "thread"}, resume=True)


def test_correction_recovers_known_coefficients(monkeypatch):
    # Stand-in features (the real ones trace every block on the meta device: slow); the fit is under test.
    monkeypatch.setattr(correction, "op_features", lambda block, shape, ms, fallback=False: np.array(
        [ms, ms * ms, len(str(block)) / 10]))
    space = load_space("fbnet")
    ops = space_ops(space)
    rng = np.random.default_rng(3)
    iso = {o.key: Stat(float(rng.uniform(0.05, 2.0))) for o in ops}
    true = np.array([1.1, 0.3, 0.0])
    nets = [space.decode(c) for c in space.sample(np.random.default_rng(1), 12)]
    measured = [float(correction.net_features(n, iso) @ true) + 0.05 for n in nets]
    c = correction.fit(nets, measured, iso, 0.05, seed=1)
    assert np.allclose(c.coef, true, rtol=1e-6) and c.fit_mape_pct < 1e-6
    with pytest.raises(NasError, match="at least"):
        correction.fit(nets[:3], measured[:3], iso, 0.05, seed=1)


def _fbnet_table(tmp_path):
    space = load_space("fbnet")
    entries = {o.key: Stat(0.1 + 0.001 * i, n=5) for i, o in enumerate(space_ops(space))}
    t = LatencyTable("local", "ort_cpu", "measured", {"hardware": "test cpu", "runtime": "onnxruntime",
                     "date": "2026-11-28"}, Stat(0.02, n=5), entries)
    path = tmp_path / "local-ort_cpu.yaml"
    save_table(t, path)
    return space, path


def test_latency_json_and_breakdown(tmp_path, capsys):
    space, path = _fbnet_table(tmp_path)
    dsl = str(space.decode([0] * len(space.decisions)))
    assert main(["latency", "--arch", dsl, "--table", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"total_ms", "overhead_ms", "layers", "source", "table", "runtime", "weights", "weights_note",
                        "compute_units", "compute_units_recorded", "provenance", "extrapolation"}
    assert (out["weights"], out["weights_note"]) == ("fp16", None)
    assert out["provenance"]["method"] == "measured" and out["provenance"]["hardware"] == "test cpu"
    assert out["extrapolation"] == []                    # a measured table has no calibration range to leave
    assert out["runtime"] == "onnxruntime" and out["compute_units"] is None   # a local runtime: no Core ML setting
    assert out["source"] == "measured" and out["overhead_ms"] == 0.02 and len(out["layers"]) == 26
    assert out["total_ms"] == pytest.approx(0.02 + sum(l["ms"] for l in out["layers"]), abs=1e-5)
    assert {"key", "ms"} <= set(out["layers"][0])
    assert main(["latency", "--arch", dsl, "--table", str(path)]) == 0
    text = capsys.readouterr().out
    assert "conv_k3_s2_c16@3x224x224" in text and "test cpu" in text


def test_latency_missing_entry_and_wrong_unit(tmp_path, capsys):
    _, path = _fbnet_table(tmp_path)
    assert main(["latency", "--arch", "224:conv_k3_s2_c8|gap,fc_c10", "--table", str(path)]) == 2
    err = capsys.readouterr().err
    assert "conv_k3_s2_c8@3x224x224" in err and "nas profile-ops --device local --unit ort_cpu" in err
    assert main(["latency", "--arch", "224:conv_k3_s2_c8|gap,fc_c10", "--table", str(path), "--device", "local",
                 "--unit", "torch_cpu"]) == 2
    assert "--allow-other-device" in capsys.readouterr().err


def test_tables_show(tmp_path, capsys):
    _, path = _fbnet_table(tmp_path)
    assert main(["tables", "show", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entries"] == 112 and info["provenance"]["hardware"] == "test cpu"
