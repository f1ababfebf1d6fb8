"""The iPhone cost model: monotonicity, ANE fallback rules, calibration files, shipped tables, determinism."""

from pathlib import Path

import numpy as np
import pytest

from nas import zoo
from nas.arch import resolve
from nas.arch.dsl import parse_block
from nas.errors import SpecError
from nas.latency.costmodel.atoms import Atom, atoms_of, block_atoms, stack
from nas.latency.costmodel.builders import mobilenet_v2
from nas.latency.costmodel.calibdata import load_timings
from nas.latency.costmodel.fit import UnitFit
from nas.latency.costmodel.model import UNIT_CODES, atom_ms, block_ms
from nas.latency.costmodel.priors import prior_for
from nas.latency.costmodel.tables import build_table
from nas.latency.regime import ARTICLE_RUNTIME
from nas.latency.store import SHIPPED_DIR
from nas.latency.table import load_table
from nas.ops.features import TracedOp
from nas.spaces import load_space, space_names

PHONES, UNITS = ("iphone11", "iphonexs", "iphonex"), ("cpu", "gpu", "ane")


def prior_fits(phone):
    return {u: UnitFit(phone, u, dict(prior_for(phone, u).mean)) for u in UNITS}


def thetas():
    """Prior centres and the shipped fitted values of every (phone, unit)."""
    out = [(u, dict(prior_for("iphone11", u).mean)) for u in UNITS]
    rng = np.random.default_rng(0)
    for u in UNITS:
        th = dict(prior_for("iphonexs", u).mean)
        out.append((u, {k: v + rng.normal(0, 1) for k, v in th.items()}))
    return out


def one(atom):
    return stack([(atom,)])


@pytest.mark.parametrize("unit,th", thetas())
def test_more_macs_bytes_or_layers_never_cost_less(unit, th):
    fb = {u: dict(prior_for("iphone11", u).mean) for u in ("cpu", "gpu")}
    for cls in ("conv", "dwconv", "gconv", "linear", "eltwise", "concat", "memory"):
        base = Atom(cls, 1e7, 200_000, 10_000, 1)
        variants = [Atom(cls, 2e7, 200_000, 10_000, 1), Atom(cls, 1e7, 400_000, 10_000, 1),
                    Atom(cls, 1e7, 200_000, 20_000, 1), Atom(cls, 1e7, 200_000, 10_000, 2)]
        t0 = block_ms(one(base), unit, th, fb if unit == "ane" else None)[0][0]
        for v in variants:
            assert block_ms(one(v), unit, th, fb if unit == "ane" else None)[0][0] >= t0
    # a network with one more layer never costs less
    net = zoo.get("mobilenet_v2").spec
    blocks = [block_atoms(l.block, l.in_shape) for l in resolve(net)]
    fewer = stack(blocks[:-3] + blocks[-2:])
    full = stack(blocks)
    assert block_ms(full, unit, th, fb if unit == "ane" else None)[0].sum() >= \
        block_ms(fewer, unit, th, fb if unit == "ane" else None)[0].sum()


def test_matrix_blocks_price_dense_convs_only():
    """A13 AMX (priors.CHIP_PARAMS): dense conv / FC at the ``amx`` rate, depthwise on the NEON peak.
    Expected times are the roofline by hand: (compute^4 + memory^4)^(1/4) + launch, in ms."""
    th = {"peak": np.log(100e9), "bw": np.log(10e9), "launch": np.log(10e-6), "dw": np.log(0.5),
          "gconv": 0.0, "eltwise": 0.0, "concat": 0.0, "memory": 0.0, "overhead": np.log(1e-3)}
    conv, dw = Atom("conv", 4e9, 1_000_000, 0, 1), Atom("dwconv", 1e9, 1_000_000, 0, 1)
    mem = 1_000_000 * 4 / 10e9     # fp32 bytes on the CPU at 10 GB/s: 0.4 ms

    def hand(comp):
        return ((comp ** 4 + mem ** 4) ** 0.25 + 10e-6) * 1e3

    without = atom_ms(stack([(conv, dw)]), th, "cpu")
    assert without == pytest.approx([hand(4e9 / 100e9), hand(1e9 / (100e9 * 0.5))], rel=1e-9)
    with_amx = atom_ms(stack([(conv, dw)]), dict(th, amx=np.log(400e9)), "cpu")
    assert with_amx == pytest.approx([hand(4e9 / 400e9), hand(1e9 / (100e9 * 0.5))], rel=1e-9)


def test_only_the_a13_has_a_matrix_block_prior():
    """The specs file gives a CPU matrix-block figure for the A13 only (1e12 ops/s, TechCrunch / Wikipedia)."""
    cpu11 = prior_for("iphone11", "cpu")
    assert cpu11.names("cpu")[-1] == "amx" and cpu11.mean["amx"] == pytest.approx(np.log(1e12 * 0.5))
    assert "TechCrunch" in cpu11.sources["amx"] and "1e+12" in cpu11.sources["amx"]
    for phone in ("iphonexs", "iphonex"):
        assert "amx" not in prior_for(phone, "cpu").names("cpu")
    # the joint CPU fit gives the matrix-block rate to the iPhone 11's shipped table only
    for phone in PHONES:
        prov = load_table(SHIPPED_DIR / f"{phone}-cpu.{ARTICLE_RUNTIME}.yaml", runtime=ARTICLE_RUNTIME).provenance
        assert ("matrix_block_gflops" in prov["fitted_parameters"]) == (phone == "iphone11"), phone
    for unit in ("gpu", "ane"):
        assert "amx" not in prior_for("iphone11", unit).names(unit)


def test_cpu_reads_weights_once_per_inference_outside_the_roofline():
    """Cost model 1.3 (priors.UNIT_PARAMS): on the CPU a layer's weights cost weights x 4 B / wbw on top of the
    roofline, whose memory term then counts activations only. Expected times by hand, in ms."""
    th = {"peak": np.log(100e9), "bw": np.log(10e9), "launch": np.log(10e-6), "dw": 0.0,
          "gconv": 0.0, "eltwise": 0.0, "concat": 0.0, "memory": 0.0, "overhead": np.log(1e-3)}
    conv = Atom("conv", 2e7, 1_000_000, 500_000, 1)   # 0.2 ms compute, 0.4 ms activations, 2 MB of weights
    comp, act = 2e7 / 100e9, 1_000_000 * 4 / 10e9
    old = ((comp ** 4 + ((1_000_000 + 500_000) * 4 / 10e9) ** 4) ** 0.25 + 10e-6) * 1e3
    assert atom_ms(one(conv), th, "cpu")[0] == pytest.approx(old, rel=1e-9)         # without wbw: 1.2's form
    new = ((comp ** 4 + act ** 4) ** 0.25 + 10e-6 + 500_000 * 4 / 5e9) * 1e3      # + 2 MB at 5 GB/s = 0.4 ms
    assert atom_ms(one(conv), dict(th, wbw=np.log(5e9)), "cpu")[0] == pytest.approx(new, rel=1e-9)
    # every phone's CPU has it (prior: the chip's bandwidth prior), before the A13's amx; GPU / ANE do not
    for phone in PHONES:
        pr = prior_for(phone, "cpu")
        assert "wbw" in pr.names("cpu") and pr.mean["wbw"] == pr.mean["bw"]
        for unit in ("gpu", "ane"):
            assert "wbw" not in prior_for(phone, unit).names(unit)
    assert prior_for("iphone11", "cpu").names("cpu")[-2:] == ("wbw", "amx")


def test_gpu_3x3_rate_and_occupancy_by_hand():
    """Cost model 1.4 (priors.UNIT_PARAMS['gpu']): dense 3x3 stride-1 convs run ``wino`` times faster per FLOP,
    and a conv adds FLOPs-per-output x occ / rate (direct-conv rate). Expected times by hand, in ms."""
    th = {"peak": np.log(100e9), "bw": np.log(10e9), "launch": np.log(10e-6), "dw": 0.0,
          "gconv": 0.0, "eltwise": 0.0, "concat": 0.0, "memory": 0.0, "overhead": np.log(1e-3)}
    # 2e8 FLOPs over 100 000 outputs (2000 FLOPs each); 200 000 activation elements; 3x3, stride 1 / 2; a 1x1
    k3 = Atom("conv", 2e8, 200_000, 0, 1, None, 100_000, (3, 3), 1)
    k3s2 = Atom("conv", 2e8, 200_000, 0, 1, None, 100_000, (3, 3), 2)
    k1 = Atom("conv", 2e8, 200_000, 0, 1, None, 100_000, (1, 1), 1)
    mem = 200_000 * 2 / 10e9                                     # fp16 on the GPU: 0.04 ms
    plain = ((2e-3 ** 4 + mem ** 4) ** 0.25 + 10e-6) * 1e3       # 2 ms of compute at 100 GFLOP/s
    for a in (k3, k3s2, k1):
        assert atom_ms(one(a), th, "gpu")[0] == pytest.approx(plain, rel=1e-9)   # 1.3's form: no difference
    fast = (((2e-3 / 4) ** 4 + mem ** 4) ** 0.25 + 10e-6) * 1e3  # wino = 4x: 0.5 ms
    assert atom_ms(one(k3), dict(th, wino=np.log(4.0)), "gpu")[0] == pytest.approx(fast, rel=1e-9)
    for a in (k3s2, k1):                                         # stride 2 or 1x1: not Winograd-eligible
        assert atom_ms(one(a), dict(th, wino=np.log(4.0)), "gpu")[0] == pytest.approx(plain, rel=1e-9)
    # occupancy 20 000 outputs: + 2000 FLOPs x 20 000 / 100 GFLOP/s = 0.4 ms, on the direct-conv rate
    occ = dict(th, wino=np.log(4.0), occ=np.log(20_000))
    assert atom_ms(one(k3), occ, "gpu")[0] == pytest.approx(fast + 0.4, rel=1e-9)
    assert atom_ms(one(k1), occ, "gpu")[0] == pytest.approx(plain + 0.4, rel=1e-9)
    # the GPU has the three terms (occ prior: 5000 per published GPU core, A11 3 cores, A13 4); CPU / ANE do not
    for phone, cores in (("iphonex", 3), ("iphone11", 4)):
        pr = prior_for(phone, "gpu")
        assert {"wino", "split", "occ"} <= set(pr.names("gpu"))
        assert np.exp(pr.mean["occ"]) == pytest.approx(cores * 5000)
        assert np.exp(pr.mean["wino"]) == pytest.approx(2.25)
        for unit in ("cpu", "ane"):
            assert not {"wino", "occ"} & set(prior_for(phone, unit).names(unit))


def test_conv_atoms_carry_kernel_stride_and_outputs():
    """A traced 3x3 stride-2 conv from 16 to 32 channels on 16x16 gives 32 x 8 x 8 outputs."""
    atoms = [a for a in block_atoms(parse_block("conv_k3_s2_c32"), (16, 16, 16)) if a.cls == "conv"]
    assert [(a.kernel, a.stride, a.out_elems) for a in atoms] == [((3, 3), 2, 32 * 8 * 8)]


def test_wider_block_costs_more():
    th = prior_for("iphone11", "gpu").mean
    narrow = stack([block_atoms(parse_block("ir_k3_s1_e6_c32"), (32, 28, 28))])
    wide = stack([block_atoms(parse_block("ir_k3_s1_e6_c64"), (64, 28, 28))])
    assert atom_ms(wide, th, "gpu").sum() > atom_ms(narrow, th, "gpu").sum()


def rule_of(block, shape):
    return {a.ane_rule for a in block_atoms(parse_block(block), shape)} - {None}


def test_fallback_rules_on_crafted_ops():
    assert rule_of("conv_k3_s1_c32_d2", (32, 28, 28)) == {"L3"}
    assert rule_of("pool_tmax_k15_s1", (32, 28, 28)) == {"L4"}
    assert rule_of("pool_tavg_k3_s3", (32, 27, 27)) == {"L4"}
    assert rule_of("pool_tmax_k3_s2", (32, 28, 28)) == set()
    assert rule_of("ir_k3_s1_e6_c32_se0.25", (32, 28, 28)) == {"L7"}
    assert rule_of("ir_k3_s1_e6_c32", (32, 28, 28)) == set()
    gather = atoms_of((TracedOp("gather", 0, 1000, 1000, 0),))
    assert gather[0].ane_rule == "L8"


def test_fallback_entries_say_where_they_run():
    layers = {k: (parse_block(b), s) for k, b, s in [
        ("dil", "conv_k3_s1_c32_d2", (32, 28, 28)), ("plain", "conv_k3_s1_c32", (32, 28, 28)),
        ("se", "ir_k3_s1_e6_c32_se0.25", (32, 28, 28))]}
    t = build_table("iphone11", "ane", prior_fits("iphone11"), layers, {})
    assert t.entries["plain"].extra["unit_used"] == "ane"
    assert t.entries["dil"].extra["unit_used"] in ("gpu", "cpu") and t.entries["dil"].extra["rule"] == "L3"
    assert t.entries["se"].extra["rule"] == "L7"
    tx = build_table("iphonex", "ane", prior_fits("iphonex"), layers, {})
    assert {e.extra["unit_used"] for e in tx.entries.values()} == {"gpu"}
    assert "G1" in tx.provenance["fallback"]


def write(tmp_path, text):
    p = tmp_path / "timings.yaml"
    p.write_text(text)
    return p


def test_calibration_file_refusals(tmp_path):
    with pytest.raises(SpecError) as e:
        load_timings(write(tmp_path, "models:\n  mobilenet_v2:\n    iphone11: [0.019, 0.0185]\n"))
    assert "timings.yaml" in str(e.value) and "models.mobilenet_v2.iphone11" in str(e.value)
    assert "ane" in str(e.value)
    with pytest.raises(SpecError) as e:
        load_timings(write(tmp_path, "models:\n  mobilenet_v2:\n    iphone11: {cpu: 0.019, ane: 0.005}\n"))
    assert "models.mobilenet_v2.iphone11.gpu" in str(e.value)
    with pytest.raises(SpecError) as e:
        load_timings(write(tmp_path, "models:\n  mobilenet_v2:\n    iphone11: [0.019, -0.0185, null]\n"))
    assert "timings.yaml" in str(e.value) and "models.mobilenet_v2.iphone11.gpu" in str(e.value)
    rows, skipped = load_timings(write(tmp_path, "time_unit: ms\nmodels:\n  mobilenet_v2:\n"
                                       "    iphone11: [19, 18.5, null]\n  not_a_model:\n    iphone11: [1, 1, 1]\n"))
    assert [(r.unit, r.ms) for r in rows] == [("cpu", 19.0), ("gpu", 18.5)] and skipped == ["not_a_model"]


def test_mobilenet_v2_variants_follow_the_reference():
    assert resolve(mobilenet_v2(1.0, 224))[-1].key == resolve(zoo.get("mobilenet_v2").spec)[-1].key
    small = resolve(mobilenet_v2(0.35, 96))
    assert small[0].out_shape == (16, 48, 48) and small[-3].out_shape[0] == 1280
    assert resolve(mobilenet_v2(1.4, 224))[-3].out_shape[0] == 1792


def shipped():
    return {(p, u): load_table(SHIPPED_DIR / f"{p}-{u}.{ARTICLE_RUNTIME}.yaml", device=p, unit=u,
                               runtime=ARTICLE_RUNTIME) for p in PHONES for u in UNITS}


def test_shipped_tables_cover_every_space_and_zoo_op():
    keys = set()
    for name in space_names():
        keys |= {l.key for f in load_space(name).factors for ls in f.layers for l in ls}
    for name in zoo.names():
        keys |= {l.key for l in resolve(zoo.get(name).spec)}
    for (p, u), t in shipped().items():
        assert t.method == "predicted"
        assert not keys - set(t.entries), f"{p}-{u} misses {sorted(keys - set(t.entries))[:3]}"
        assert all(e.extra.get("unit_used") in ("ane", "gpu", "cpu") for e in t.entries.values())
        prov = t.provenance
        assert prov["model"] and prov["model_version"] and prov["calibration"] and "loo_mape_pct" in prov
        if u != "ane":
            assert {e.extra["unit_used"] for e in t.entries.values()} == {u}


def test_calibrate_is_deterministic(tmp_path):
    from nas.latency.costmodel.calibrate import calibrate
    data = write(tmp_path, "models:\n  mobilenet_v2:\n    iphone11: [0.019, 0.0185, 0.0051]\n"
                           "    iphonexs: [0.0229, 0.0284, 0.0064]\n    iphonex: [0.0276, 0.0357, null]\n")
    outs, folds = [], []
    for i in range(2):
        d = tmp_path / f"out{i}"
        calibrate([data], d, d / "report.json", cv=True, on_fold=lambda *a: folds.append(a))
        outs.append({p.name: p.read_bytes() for p in sorted(Path(d).iterdir())})
    assert outs[0] == outs[1] and len(outs[0]) == 10
    # the progress hook: one family in this file, so one leave-one-model-out refit per run
    assert folds == [(1, 1, "mobilenet_v2 out")] * 2


def test_off_ane_block_runs_whole_on_one_unit():
    """Cost model 1.5: an off-ANE block is one segment on one unit plus two switches, by hand: the cheaper of CPU
    and GPU, but the GPU for a squeeze-excite broadcast (L7, atoms.GPU_FALLBACK_RULES) even where the CPU is cheaper."""
    fb = {u: dict(prior_for("iphone11", u).mean) for u in ("cpu", "gpu")}
    fb["gpu"]["dw"] = np.log(10.0)      # depthwise layers cheaper on this GPU, everything else on the CPU
    th = dict(prior_for("iphone11", "ane").mean, transfer=np.log(200e-6), xfer_cpu=np.log(10e-6), xfer_bw=np.log(1e9))
    conv = Atom("conv", 2e6, 20_000, 1_000, 1)
    for rule, cls in (("L6", "split"), ("L7", "eltwise")):
        blk = (conv, Atom(cls, 1e4, 20_000, 0, 1, rule), Atom("dwconv", 1e6, 20_000, 9, 1))
        a = stack([blk])
        per = {u: atom_ms(a, fb[u], u) for u in ("cpu", "gpu")}
        # switch in before the first layer and back after the last: fixed + its half of the fp16 in/out bytes
        sw = {u: sum(f + 20_000 * 2 / 2 / 1e9 for _ in range(2)) * 1e3 for u, f in (("cpu", 10e-6), ("gpu", 200e-6))}
        whole = {u: per[u].sum() + sw[u] for u in per}
        assert whole["cpu"] < whole["gpu"]                     # the CPU is the cheaper unit for this block
        assert (per["cpu"] < per["gpu"]).any() and (per["gpu"] < per["cpu"]).any()   # 1.4 would have mixed
        t, code = block_ms(a, "ane", th, fb)
        want = "gpu" if rule == "L7" else "cpu"
        assert t[0] == pytest.approx(whole[want]) and set(code) == {UNIT_CODES.index(want)}


def test_ane_fusions_free_activations_after_a_conv_only_where_the_regime_has_them():
    """atoms.FUSIONS by hand: conv-bn-relu6, conv-h-swish, conv-add-relu6 (a residual), then ops not after a conv."""
    ops = (TracedOp("conv", 1000, 100, 100, 10), TracedOp("bn", 0, 100, 100, 2), TracedOp("relu6", 0, 100, 100, 0),
           TracedOp("conv", 1000, 100, 100, 10), TracedOp("hswish", 0, 100, 100, 0),
           TracedOp("conv", 1000, 100, 100, 10), TracedOp("add", 0, 200, 100, 0), TracedOp("relu6", 0, 100, 100, 0),
           TracedOp("mul", 0, 200, 100, 0), TracedOp("sigmoid", 0, 100, 100, 0))
    atoms = atoms_of(ops)
    assert [a.fuse for a in atoms] == ["", "relu6", "", "hswish", "", "add", "add+relu6", "", ""]
    th = dict(prior_for("iphone11", "ane").mean)
    none, f1, f2, f3 = (atom_ms(stack([atoms], d), th, "ane") for d in ((), ("F1",), ("F2",), ("F3",)))
    assert np.all(none > 0)
    assert f1[1] == 0 and f1[3] == pytest.approx(none[3] / 2) and f2[3] == 0   # h-swish: 1 of its 2 layers, or both
    keep = [0, 2, 4, 5, 6, 7, 8]                                                # convs, add, relu6 after it, mul, sigmoid
    assert np.array_equal(f2[keep], none[keep])
    assert f3[5] == 0 and f3[6] == 0 and f3[7] == none[7] and f3[8] == none[8]  # residual add (+ its relu6): F3 only
    # fusion is an ANE feature: the CPU / GPU prices of the same atoms never change
    for u in ("cpu", "gpu"):
        thu = dict(prior_for("iphone11", u).mean)
        assert np.array_equal(atom_ms(stack([atoms], ("F3",)), thu, u), atom_ms(stack([atoms]), thu, u))
