"""The iPhone SE (2nd / 3rd gen), iPhone 16 and 17 families, and the per-inference floor by OS of today's regime.

Expectations are published figures written out here (Apple's launch figures as reported, public device
tables, Apple's coremltools docs timings), the calibration files' own text, or a hand-set parameter a fit
must recover -- never a value the code under test computed.
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

from nas import zoo
from nas.hardware.devices import DEVICES, SAME_FIGURES, matches
from nas.latency import price_net
from nas.latency.costmodel.calibdata import Row
from nas.latency.costmodel.fit import Dataset, fit_unit
from nas.latency.costmodel.model import net_ms
from nas.latency.costmodel.priors import SPECS, prior_for
from nas.latency.costmodel.today_data import load_today, os_major
from nas.latency.regime import DEFAULT_RUNTIME
from nas.latency.store import find_table

ROOT = Path(__file__).resolve().parents[1]
# hw.machine identifiers as listed in devicekit/DeviceKit Source/Device.swift.gyb (snapshot 56b997e; the SE 2nd gen
# and the iPhone 18,x phones: snapshot 00b7c0f)
PUBLISHED_IDS = {"iphonese3": "iPhone14,6", "iphone16": "iPhone17,3", "iphone16plus": "iPhone17,4",
                 "iphone16e": "iPhone17,5", "iphone16pro": "iPhone17,1", "iphone16promax": "iPhone17,2",
                 "iphonese2": "iPhone12,8", "iphone17": "iPhone18,3", "iphone17e": "iPhone18,5",
                 "iphoneair": "iPhone18,4", "iphone17pro": "iPhone18,1", "iphone17promax": "iPhone18,2"}
# chip and GPU cores per phone (Apple's launch figures as reported: specs file _sources pa_a18, mo_16e, mb_se3;
# iPhone 17 family: Wikipedia 'Apple A19' -- A19 5 cores, A19 Pro 6, 5 in the iPhone Air -- and Apple's site specs
# as reported by Comextrend; iPhone 17e: 4 cores in its Geekbench listings as reported by Mixvale)
PUBLISHED_CHIP = {"iphonese3": ("A15", 4), "iphone16": ("A18", 5), "iphone16plus": ("A18", 5),
                  "iphone16e": ("A18", 4), "iphone16pro": ("A18_Pro", 6), "iphone16promax": ("A18_Pro", 6),
                  "iphonese2": ("A13", 4), "iphone17": ("A19", 5), "iphone17e": ("A19", 4),
                  "iphoneair": ("A19_Pro", 5), "iphone17pro": ("A19_Pro", 6), "iphone17promax": ("A19_Pro", 6)}
# Wikipedia 'Apple A19' (infobox and text, both chips): 2 performance cores at up to 4.26 GHz, 4 efficiency cores,
# 16-core Neural Engine; no Neural Engine throughput and no bandwidth are given, only LPDDR5X-8533 (A19, iPhone Air)
# and LPDDR5X-9600 (iPhone 17 Pro / Pro Max)
PUBLISHED_A19 = {"cpu_performance_cores": 2, "cpu_efficiency_cores": 4, "ne_cores": 16, "cpu_max_clock_ghz": 4.26}
# Apple launch figures of the chips: 6-core CPU (2 performance + 4 efficiency), 16-core Neural Engine, 35 TOPS
PUBLISHED_A18 = {"cpu_performance_cores": 2, "cpu_efficiency_cores": 4, "ne_cores": 16,
                 "ne_peak_ops_per_s": 35e12}


def specs():
    return yaml.safe_load(SPECS.read_text())


@pytest.mark.parametrize("name", sorted(PUBLISHED_IDS))
def test_new_phones_identifiers_chips_and_gpu_cores(name):
    d = DEVICES[name]
    assert matches(d, PUBLISHED_IDS[name]) and d.hardware_ids == (PUBLISHED_IDS[name],)
    chip, gpu = PUBLISHED_CHIP[name]
    assert d.chip == chip and d.ane_for_third_party
    assert (d.gpu_cores or specs()["chips"][chip]["gpu_cores"]["value"]) == gpu
    assert d.marketing.split(" (")[0] in " ".join(specs()["chips"][chip]["devices"]["value"]) or name == "iphonese3"


@pytest.mark.parametrize("chip", ["A18", "A18_Pro"])
def test_a18_figures_are_the_published_ones_and_cited(chip):
    c = specs()["chips"][chip]
    for key, want in PUBLISHED_A18.items():
        assert c[key]["value"] == want, key
    for key, v in c.items():
        if key == "name":
            continue
        # a figure without a source is null and says why; a figure with a value names where it comes from
        assert (v["value"] is None and v.get("note")) or v["source"], (chip, key)
    assert c["memory_bandwidth_gb_s"]["value"] is None and "17 percent" in c["memory_bandwidth_gb_s"]["note"]


@pytest.mark.parametrize("chip", ["A19", "A19_Pro"])
def test_a19_figures_are_the_published_ones_and_cited(chip):
    c = specs()["chips"][chip]
    for key, want in PUBLISHED_A19.items():
        assert c[key]["value"] == want, key
    for key, v in c.items():
        if key != "name":
            assert (v["value"] is None and v.get("note")) or v["source"], (chip, key)
    # not published: stays null in the specs file (the assumption lives in priors.py, not in the facts)
    assert c["ne_peak_ops_per_s"]["value"] is None and c["memory_bandwidth_gb_s"]["value"] is None
    assert c["memory_type"]["value"] == "LPDDR5X"


def test_a19_priors_say_what_they_assume():
    # CPU: 2 cores x 4.26 GHz (Wikipedia) x 32 FLOP/cycle; ANE: no A19 figure, the A18's 35 TOPS assumed and halved
    cpu, ane = prior_for("iphone17", "cpu"), prior_for("iphone17pro", "ane")
    assert np.exp(cpu.mean["peak"]) == pytest.approx(2 * 4.26e9 * 32 * 0.5)
    assert np.exp(ane.mean["peak"]) == pytest.approx(35e12 / 2 * 0.2) and "assumed" in ane.sources["peak"]
    # bandwidth: the A16's 51.2 GB/s scaled by the data rate, 8533 or 9600 MT/s over 6400 (prior = 0.6 x it)
    for phone, mts in (("iphone17", 8533), ("iphone17e", 8533), ("iphoneair", 8533), ("iphone17pro", 9600)):
        p = prior_for(phone, "ane")
        assert np.exp(p.mean["bw"]) / 0.6 / 1e9 == pytest.approx(51.2 * mts / 6400, rel=1e-3), phone
        assert "assumed" in p.sources["bw"] and str(mts) in p.sources["bw"], phone
    # GPU: per-phone core counts, nothing else differs between the Air and the iPhone 17 / 17 Pro GPU priors
    gpu = {n: np.exp(prior_for(n, "gpu").mean["peak"]) for n in ("iphone17e", "iphone17", "iphoneair", "iphone17pro")}
    assert gpu["iphone17"] == pytest.approx(gpu["iphoneair"])
    assert gpu["iphone17pro"] / gpu["iphone17"] == pytest.approx(6 / 5)
    assert gpu["iphone17e"] / gpu["iphone17"] == pytest.approx(4 / 5)


@pytest.mark.parametrize("unit", ["cpu", "gpu", "ane"])
def test_se2_resolves_to_the_a13_tables(unit, monkeypatch):
    # the iPhone SE (2nd gen) has the iPhone 11's A13 (specs file devices list; DeviceKit "a13Bionic")
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    assert DEVICES["iphonese2"].chip == DEVICES["iphone11"].chip == "A13"
    t, ref = find_table("iphonese2", unit), find_table("iphone11", unit)
    assert t.device == "iphone11" and t.runtime == ref.runtime == DEFAULT_RUNTIME
    spec = zoo.get("mobilenet_v2").spec
    assert price_net(spec, t).total_ms == price_net(spec, ref).total_ms


def test_specs_copy_is_a_superset_of_the_shared_file():
    shared = next((p / "data" / "apple_soc_specs.yaml" for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared")
                   if (p / "data" / "apple_soc_specs.yaml").exists()), None)
    if shared is None:
        pytest.skip("no shared/data/apple_soc_specs.yaml next to this checkout")
    ours, theirs = specs(), yaml.safe_load(shared.read_text())
    for chip, entry in theirs["chips"].items():
        for key, v in entry.items():
            if isinstance(v, dict):
                assert ours["chips"][chip][key]["value"] == v["value"], (chip, key)
                src = ours["chips"][chip][key]["source"]
                assert v["source"] == src or v["source"] in (src if isinstance(src, list) else [src]), (chip, key)
            else:
                assert ours["chips"][chip][key] == v


def test_a18_priors_use_the_cited_figures():
    # CPU: 2 performance cores x 4.04 GHz (Wikipedia) x 32 FLOP/cycle; ANE: 35 TOPS halved as an int8 figure
    cpu, ane = prior_for("iphone16", "cpu"), prior_for("iphone16pro", "ane")
    assert "2 performance cores x 4.04 GHz" in cpu.sources["peak"]
    assert np.exp(ane.mean["peak"]) == pytest.approx(35e12 / 2 * 0.2)
    # no absolute bandwidth: the A16's 51.2 GB/s times Apple's "17 percent more"
    assert ane.sources["bw"].startswith("59.9 GB/s") and "1.17" in ane.sources["bw"]


@pytest.mark.parametrize("name", sorted(PUBLISHED_IDS))
@pytest.mark.parametrize("unit", ["cpu", "gpu", "ane"])
def test_every_new_phone_has_a_predicted_table_of_todays_regime(name, unit, monkeypatch):
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    t = find_table(name, unit)
    assert t.runtime == DEFAULT_RUNTIME and t.method == "predicted"
    assert t.device in (name, SAME_FIGURES.get(name))
    if unit == "ane":
        assert t.provenance["os_assumed"] == "iOS 17 or later"


def test_rows_record_the_os_their_source_states():
    assert os_major("iPhone 13 (iOS 16.6.1)") == "16" and os_major("iOS 17 (Xcode 15)") == "17"
    assert os_major("iPhone 12") == ""
    rows, _, _ = load_today()
    by = {}
    for r in rows:
        by.setdefault(r.source, set()).add(r.os)
    # MobileNetV4 Appendix B: iOS 16.6.1; RepViT / EfficientFormerV2 READMEs: iOS 16; Apple's docs: iOS 17;
    # StarNet, MobileOne, iFormer and MobileViTv2 state none
    assert by["mnv4_t6"] == by["repvit"] == by["efficientformer"] == {"16"} and by["coremltools_docs"] == {"17"}
    assert by["starnet_t19"] == by["mobileone"] == by["iformer"] == by["mobilevitv2_t2"] == {""}


def test_fit_recovers_a_hand_set_floor_shift():
    # rows timed at the prior centre of every parameter; the rows of group "new" pay half the overhead
    specs_ = [zoo.get(n).spec for n in ("mobilenet_v2", "resnet_18", "mobilenet_v3_small", "mobileone_s0")]
    th = prior_for("iphone13", "gpu").mean
    base = net_ms(Dataset([Row(s.name, s.name, "t", "iphone13", "gpu", 1.0, 0.01, s, True) for s in specs_]).batch,
                  "gpu", th)
    ov = np.exp(th["overhead"]) * 1e3
    rows, groups = [], []
    for s, ms in zip(specs_, base):
        rows += [Row(s.name, s.name, "t", "iphone13", "gpu", float(ms), 0.01, s, True),
                 Row(s.name, s.name, "t", "iphone13", "gpu", float(ms - ov + 0.5 * ov), 0.01, s, True)]
        groups += [None, "new"]
    # a wide prior (10) on the shift: with a narrow one, 4 networks let the fit spread the change over
    # other parameters at a lower ridge cost (the shipped fit's width is 1, on 71 rows)
    fit = fit_unit(Dataset(rows), np.ones(len(rows), bool), ("iphone13",), "gpu", phone_dev={},
                   floor_groups=(groups, {"new": 10.0}))["iphone13"]
    assert fit.floor_shift["new"] == pytest.approx(np.log(0.5), abs=0.02)
    assert fit.theta["overhead"] == pytest.approx(th["overhead"], abs=0.02)


def test_fit_recovers_a_shift_that_also_scales_the_per_layer_cost():
    # the "new" rows are priced with overhead and launch both shifted by log(0.4) (an OS factor that scales the
    # per-layer cost too, experiments/today_speed/floor_variants.py ``os17_launch``); the fit must find it
    specs_ = [zoo.get(n).spec for n in ("mobilenet_v2", "resnet_18", "mobilenet_v3_small", "mobileone_s0")]
    th = prior_for("iphone13", "gpu").mean
    th_new = dict(th, overhead=th["overhead"] + np.log(0.4), launch=th["launch"] + np.log(0.4))
    batch = Dataset([Row(s.name, s.name, "t", "iphone13", "gpu", 1.0, 0.01, s, True) for s in specs_]).batch
    rows, groups = [], []
    for s, old, new in zip(specs_, net_ms(batch, "gpu", th), net_ms(batch, "gpu", th_new)):
        rows += [Row(s.name, s.name, "t", "iphone13", "gpu", float(old), 0.01, s, True),
                 Row(s.name, s.name, "t", "iphone13", "gpu", float(new), 0.01, s, True)]
        groups += [None, "new"]
    fit = fit_unit(Dataset(rows), np.ones(len(rows), bool), ("iphone13",), "gpu", phone_dev={},
                   floor_groups=(groups, {"new": 10.0}), shift_params=("overhead", "launch"))["iphone13"]
    assert fit.floor_shift["new"] == pytest.approx(np.log(0.4), abs=0.02)


def test_ios17_floor_against_apples_published_timings(monkeypatch):
    # Apple's coremltools docs, iPhone 14 Pro (A16), Xcode 15, iOS 17, fp16 ML program, compute units all:
    # MobileNetV2 0.48 ms (calibration row) and MobileNetV3-Small 0.13 ms (held out, never fitted)
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    t = find_table("iphone14pro", "ane")
    floor = t.provenance["floor"]["overhead_ms"]
    assert t.overhead.median_ms == pytest.approx(floor["ios17+"], abs=1e-4)
    assert floor["ios17+"] < floor["ios16_or_unstated"]
    for model, published in (("mobilenet_v2", 0.48), ("mobilenet_v3_small", 0.13)):
        ms17 = price_net(zoo.get(model).spec, t).total_ms
        ms16 = ms17 - floor["ios17+"] + floor["ios16_or_unstated"]   # the same table at the iOS 16 floor
        assert abs(ms17 - published) < abs(ms16 - published), model
    assert price_net(zoo.get("mobilenet_v2").spec, t).total_ms == pytest.approx(0.48, rel=0.15)


@pytest.mark.parametrize("phone", ["iphone14", "iphone14plus"])
def test_iphone14_has_the_13_pros_five_core_gpu(phone, monkeypatch):
    # iPhone 14 / 14 Plus: the iPhone 13 Pro's A15 with a 5-core GPU (Gizbot 2022-09-09, CHIP's review, Spider's Web
    # 2022-11: sources in the specs file), not the 4 cores of the shared file's value string
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)
    assert DEVICES[phone].gpu_cores == DEVICES["iphone13pro"].gpu_cores == 5 and DEVICES["iphone13"].gpu_cores == 4
    peak = prior_for(phone, "gpu").sources["peak"]
    assert peak.startswith("5 GPU cores") and "Gizbot" in peak and "MyBroadband" not in peak
    # same chip figures -> the same GPU prediction as the iPhone 13 Pro, and faster than the 4-core iPhone 13
    spec = zoo.get("mobilenet_v2").spec
    ms = {p: price_net(spec, find_table(p, "gpu")).total_ms for p in (phone, "iphone13pro", "iphone13")}
    assert ms[phone] == ms["iphone13pro"] < ms["iphone13"]


# hw.machine identifiers and chips of the older phones, as devicekit/DeviceKit Source/Device.swift.gyb lists them
# (snapshot 56b997e: identifiers and its chip field, e.g. "a15Bionic"); ebelinski/iosref hardware-strings.md agrees
# on the iPhone X / 8 pairs
PUBLISHED_OLDER = {"iphonex": (("iPhone10,3", "iPhone10,6"), "A11"), "iphone8": (("iPhone10,1", "iPhone10,4"), "A11"),
                   "iphonexs": (("iPhone11,2",), "A12"), "iphonexsmax": (("iPhone11,4", "iPhone11,6"), "A12"),
                   "iphonexr": (("iPhone11,8",), "A12"), "iphone11": (("iPhone12,1",), "A13"),
                   "iphone11pro": (("iPhone12,3",), "A13"), "iphone11promax": (("iPhone12,5",), "A13"),
                   "iphone12mini": (("iPhone13,1",), "A14"), "iphone12": (("iPhone13,2",), "A14"),
                   "iphone12pro": (("iPhone13,3",), "A14"), "iphone12promax": (("iPhone13,4",), "A14"),
                   "iphone13mini": (("iPhone14,4",), "A15"), "iphone13": (("iPhone14,5",), "A15"),
                   "iphone13pro": (("iPhone14,2",), "A15"), "iphone13promax": (("iPhone14,3",), "A15"),
                   "iphone14": (("iPhone14,7",), "A15"), "iphone14plus": (("iPhone14,8",), "A15"),
                   "iphone14pro": (("iPhone15,2",), "A16"), "iphone14promax": (("iPhone15,3",), "A16"),
                   "iphone15": (("iPhone15,4",), "A16"), "iphone15plus": (("iPhone15,5",), "A16"),
                   "iphone15pro": (("iPhone16,1",), "A17_Pro"), "iphone15promax": (("iPhone16,2",), "A17_Pro")}


@pytest.mark.parametrize("name", sorted(PUBLISHED_OLDER))
def test_older_phones_identifiers_and_chips_are_the_published_ones(name):
    ids, chip = PUBLISHED_OLDER[name]
    assert DEVICES[name].hardware_ids == ids and DEVICES[name].chip == chip
    # A15 GPU: 4 cores in the iPhone 13 / 13 mini, 5 in the 13 Pro / Pro Max (Apple's launch text as reported by
    # 9to5Mac 2021-09-14 and MacRumors 2021-09-15) and in the iPhone 14 / 14 Plus (specs file gpu_cores_by_phone)
    if chip == "A15":
        assert DEVICES[name].gpu_cores == (4 if name in ("iphone13", "iphone13mini") else 5)
