"""The ImageNet calibration set (published counts, disjoint from the zoo), the task-aware capacity weights
(regenerated from the data files), and the default's Kendall tau on both ground truths from the committed
counts (experiments/estimators/counts.jsonl), against the bars of issue 13."""

import json
import math
import sys
from pathlib import Path

import pytest
import yaml
from scipy.stats import kendalltau

from nas import zoo
from nas.arch import parse_net
from nas.arch.counts import count
from nas.search.accuracy import DEFAULT_ESTIMATOR, ScoreEstimator
from nas.search.accuracy.zeroshot import CAPACITY, capacity_weight

HERE = Path(__file__).parents[1] / "experiments" / "estimators"
sys.path.insert(0, str(HERE))
CAL = yaml.safe_load((HERE / "imagenet_calibration.yaml").read_text())
MODELS = CAL["models"]
ZOO_TOP1 = [n for n in zoo.names() if zoo.get(n).article.get("top1")]


def _net(m):
    return zoo.get(m["zoo"]).spec if "zoo" in m else parse_net(m["arch"], m["name"])


def _counted(m) -> int:
    c = count(_net(m))
    bn = c.params - c.params_no_bn           # BatchNorm scale + shift: 2 per channel
    return {"all": c.params, "no_bn": c.params_no_bn,
            # TF-slim's MobileNetV1 table counts checkpoint variables: weights + BN beta, moving mean and moving
            # variance (no gamma), i.e. 3 per BN channel (reproduces its 4.24M for width 1.0; see the zoo's file)
            "tfslim_v1": c.params_no_bn + 3 * bn // 2}[m["params_counted"]]


@pytest.mark.parametrize("m", MODELS, ids=[m["name"] for m in MODELS])
def test_calibration_params_match_the_published_count(m):
    mine = _counted(m)
    if "params" in m:                        # an exact published count (torchvision's num_params)
        assert mine == m["params"]
    else:                                    # a table in millions: equal to its last printed digit
        digits = len(str(m["params_m"]).split(".")[1])
        assert abs(mine / 1e6 - m["params_m"]) <= 0.5 * 10 ** -digits + 1e-9, (mine, m["params_m"])


def test_calibration_is_disjoint_from_the_zoo_models_with_a_top1():
    assert len(ZOO_TOP1) == 36
    zoo_archs = {str(zoo.get(n).spec).split(":", 1)[1] + "@" + str(zoo.get(n).spec.input_size) for n in ZOO_TOP1}
    for m in MODELS:
        assert m.get("zoo") not in ZOO_TOP1 and m["name"] not in ZOO_TOP1, m["name"]
        net = _net(m)
        assert str(net).split(":", 1)[1] + "@" + str(net.input_size) not in zoo_archs, m["name"]


def test_calibration_is_sourced_and_broad():
    assert len(MODELS) >= 30 and len({m["family"] for m in MODELS}) >= 4
    assert len({m["name"] for m in MODELS}) == len(MODELS)
    for m in MODELS:
        assert m["source"] in CAL["sources"] and 0 < m["top1"] < 100
        assert count(_net(m)).outputs == 1000            # ImageNet-1k heads


def test_capacity_weights_are_the_regenerated_fits():
    # The constants in zeroshot.py must be what fit_capacity.py fits today from the data files: c(10) on the
    # NAS-Bench-Macro networks outside the evaluation sample, c(1000) on the calibration set.
    import fit_capacity
    fit = fit_capacity.fit()
    assert CAPACITY == {10: round(fit["c10"]["c"], 2), 1000: round(fit["c1000"]["c"], 2)}


def test_capacity_weight_is_linear_in_log_classes_and_clipped():
    lo, hi = CAPACITY[10], CAPACITY[1000]
    assert capacity_weight(10) == pytest.approx(lo) and capacity_weight(1000) == pytest.approx(hi)
    assert capacity_weight(100) == pytest.approx((lo + hi) / 2)          # ln 100 is halfway from ln 10 to ln 1000
    assert capacity_weight(2) == pytest.approx(lo) and capacity_weight(21843) == pytest.approx(hi)


def _committed_counts() -> dict[str, list[dict]]:
    rows = [json.loads(line) for line in (HERE / "counts.jsonl").read_text().splitlines()]
    return {s: [r for r in rows if r["set"] == s] for s in ("nbmacro", "zoo", "calibration")}


def test_committed_counts_are_current():
    # A few rows of each set recounted: the committed file is what the counter gives today.
    sets = _committed_counts()
    assert len(sets["nbmacro"]) == 1000 and len(sets["zoo"]) == 36 and len(sets["calibration"]) == len(MODELS)
    by_name = {m["name"]: m for m in MODELS}
    for r in sets["zoo"][:3] + sets["calibration"][::13]:
        c = count(zoo.get(r["id"]).spec if r["set"] == "zoo" else _net(by_name[r["id"]]))
        assert (c.fmap, c.weighted, c.params, c.outputs) == (r["fmap"], r["depth"], r["params"], r["classes"])


def test_the_default_meets_both_bars_on_the_committed_counts():
    # Scores from the committed counts, truths from the benchmark / the article (in the same rows); the bars
    # are issue 13's. Also the figures validation.json records for the search to print.
    sets = _committed_counts()
    est = ScoreEstimator(DEFAULT_ESTIMATOR)
    tau = {s: kendalltau([est.combine(r) for r in sets[s]], [r["truth"] for r in sets[s]]).statistic
           for s in ("nbmacro", "zoo")}
    assert tau["nbmacro"] >= 0.70 and tau["zoo"] >= 0.76
    from nas.search.accuracy.validation import validation
    v = validation(DEFAULT_ESTIMATOR)
    assert v["nbmacro"]["kendall_tau"] == pytest.approx(tau["nbmacro"], abs=1e-4)
    assert v["zoo"]["kendall_tau"] == pytest.approx(tau["zoo"], abs=1e-4)


def test_the_default_reads_the_task_off_the_head():
    # One body, two heads: the 10-class head is scored with c(10), the 1000-class one with c(1000); by hand,
    # score = ln fmap + 0.77 ln depth + c ln params from the counts.
    est = ScoreEstimator("fmap_depth_task")
    for k in (10, 1000):
        net = parse_net(f"32:conv_k3_s1_c8|gap,fc_c{k}")
        fmap, depth, params = 32 * 32 * 8 + k, 2, (3 * 9 * 8 + 16) + (8 * k + k)
        want = math.log(fmap) + 0.77 * math.log(depth) + CAPACITY[k] * math.log(params)
        assert est.score(net) == pytest.approx(want)
