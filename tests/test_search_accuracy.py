"""Accuracy estimators: proxy determinism, ImageFolder/digits data, short training, the GP screen."""

import numpy as np
import pytest
from PIL import Image

from nas.arch import parse_net
from nas.errors import NasError
from nas.search.accuracy import PredictorEstimator, ProxyEstimator, TrainEstimator
from nas.search.accuracy.base import Estimate
from nas.search.accuracy.data import check_image_folder, load_digits, load_image_folder
from nas.search.accuracy.proxy import raw_scores

SMALL = parse_net("32:conv_k3_s2_c8|ir_k3_s1_e3_c8,ir_k3_s2_e3_c16|conv_k1_s1_c32,gap,fc_c10")
WIDER = parse_net("32:conv_k3_s2_c16|ir_k5_s1_e6_c16,ir_k5_s2_e6_c32|conv_k1_s1_c64,gap,fc_c10")
TINY = parse_net("32:conv_k3_s2_c8|skip_s1_c8|conv_k1_s1_c16,gap,fc_c10")


def test_proxy_deterministic_and_finite():
    a = raw_scores(SMALL, resolution=32, batch=8)
    assert a == raw_scores(SMALL, resolution=32, batch=8)
    assert all(np.isfinite(v) for v in a.values()) and set(a) == {"naswot", "synflow", "grad_norm"}
    est = ProxyEstimator(reference=[SMALL, WIDER, TINY], resolution=32, batch=8)
    scores = [est.estimate(n).accuracy for n in (TINY, SMALL, WIDER)]
    assert all(0 < s < 1 for s in scores) and est.estimate(SMALL).kind == "proxy"
    assert scores[2] > scores[0]   # the wider, deeper net scores above the near-empty one


def _folder(tmp_path, classes=2, per=3):
    rng = np.random.default_rng(0)
    for c in range(classes):
        d = tmp_path / f"class{c}"
        d.mkdir()
        for i in range(per):
            Image.fromarray((rng.random((10, 12, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")
    return tmp_path


def test_image_folder(tmp_path):
    (tmp_path / "data").mkdir()
    root = _folder(tmp_path / "data")
    ds = load_image_folder(root, 16)
    assert ds.images.shape == (6, 3, 16, 16) and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.classes == ("class0", "class1")
    with pytest.raises(NasError, match="no such directory"):
        check_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NasError, match="0 class folder"):
        check_image_folder(tmp_path / "empty")


@pytest.mark.slow
def test_digits_dataset():
    ds = load_digits(16)
    assert ds.images.shape == (1797, 3, 16, 16) and len(ds.classes) == 10 and ds.labels.max() == 9


@pytest.mark.slow
def test_short_training_learns_digits():
    est = TrainEstimator(data=load_digits(16), epochs=2, batch=64, lr=0.05)
    acc = est.estimate(WIDER).accuracy
    assert acc > 0.5 and est.estimate(WIDER).accuracy == acc   # cached, deterministic


class FakeTrain:
    kind = "train"

    def __init__(self):
        self.calls = 0

    def estimate(self, net, choices):
        self.calls += 1
        return Estimate(float(np.mean(choices)) / 4, self.kind)

    def observe(self, *a):
        pass

    def settings(self):
        return {"kind": "train"}


def test_predictor_screens_after_warmup():
    base = FakeTrain()
    pred = PredictorEstimator(base=base, cardinalities=[5] * 4, warmup=6, kappa=0.5)
    rng = np.random.default_rng(0)
    kinds = []
    for c in rng.integers(0, 5, (40, 4)):
        c = tuple(int(v) for v in c)
        e = pred.estimate(SMALL, c)
        pred.observe(c, e.accuracy, e.kind)
        kinds.append(e.kind)
    assert kinds[:6] == ["train"] * 6
    assert "predictor" in kinds and base.calls < 40
    assert pred.estimate(SMALL, (0, 0, 0, 0)).kind == "predictor"    # clearly worse: screened out
