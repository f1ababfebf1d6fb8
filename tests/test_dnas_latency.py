"""DNAS latency term on a two-layer supernet with a hand-written table: its value, its gradient with
respect to theta and the loss gradient are computed by hand here, not by the implementation."""

import math

import pytest
import torch

from nas.latency import LatencyTable, SpacePricer, Stat
from nas.search.dnas.supernet import SuperNet, layout_for
from nas.search.dnas.trainer import DnasConfig, DnasSearch
from nas.spaces import load_space

TINY_SPACE = """\
name: tiny
kind: layerwise
description: two searchable layers of three candidates
input_size: 16
stem: [conv_k3_s1_c4]
stages:
  - {c: 4, n: 1, s: 1}
  - {c: 8, n: 1, s: 2}
candidates: [ir_k3_e1, ir_k3_e3, skip]
head: [gap, fc_c2]
"""
OVERHEAD = 1.0
FIXED = {"conv_k3_s1_c4@3x16x16": 0.5, "gap@8x8x8": 0.01, "fc_c2@8x1x1": 0.02}
LAYER1 = {"ir_k3_s1_e1_c4@4x16x16": 0.2, "ir_k3_s1_e3_c4@4x16x16": 0.3, "skip_s1_c4@4x16x16": 0.05}
LAYER2 = {"ir_k3_s2_e1_c8@4x16x16": 0.4, "ir_k3_s2_e3_c8@4x16x16": 0.7, "skip_s2_c8@4x16x16": 0.1}
# Mixture weights m = softmax(theta) chosen by hand, and what follows from them by hand:
M1, M2 = [0.5, 0.3, 0.2], [0.1, 0.6, 0.3]
CONST = OVERHEAD + 0.5 + 0.01 + 0.02                                 # 1.53
LAT = CONST + (0.5 * 0.2 + 0.3 * 0.3 + 0.2 * 0.05) + (0.1 * 0.4 + 0.6 * 0.7 + 0.3 * 0.1)   # 1.53 + 0.2 + 0.49
# d LAT / d theta_i = m_i * (t_i - sum_j m_j t_j), per layer (softmax Jacobian):
GRAD1 = [0.5 * (0.2 - 0.2), 0.3 * (0.3 - 0.2), 0.2 * (0.05 - 0.2)]   # 0, 0.03, -0.03
GRAD2 = [0.1 * (0.4 - 0.49), 0.6 * (0.7 - 0.49), 0.3 * (0.1 - 0.49)]  # -0.009, 0.126, -0.117


class TinyData:
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.images = torch.randn(16, 3, 16, 16, generator=g)
        self.labels = torch.randint(0, 2, (16,), generator=g)
        self.classes = ("a", "b")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    space = load_space(str(path))
    entries = {k: Stat(v, n=1) for k, v in {**FIXED, **LAYER1, **LAYER2}.items()}
    table = LatencyTable("local", "ort_cpu", "measured", {"hardware": "hand", "runtime": "none",
                         "date": "2026-11-30"}, Stat(OVERHEAD, n=1), entries)
    return space, SpacePricer(space, table)


def flat(x):
    return [float(v) for v in x.flatten()]


def search(space, pricer, **kw):
    cfg = DnasConfig(target_ms=kw.pop("target_ms", 2.0), epochs=2, warmup_epochs=0, batch_size=8,
                     resolution=16, samples=1, finetune_epochs=1, **kw)
    s = DnasSearch(space, pricer, TinyData(), cfg)
    with torch.no_grad():
        s.theta.copy_(torch.log(torch.tensor([M1, M2])))   # softmax(log m) = m
    return s


def test_expected_latency_by_hand(tiny):
    s = search(*tiny)
    assert s.const_ms == pytest.approx(CONST, abs=1e-12)
    assert flat(s.t) == pytest.approx(list(LAYER1.values()) + list(LAYER2.values()), abs=1e-6)
    assert s.expected_ms() == pytest.approx(LAT, abs=1e-6) and LAT == pytest.approx(2.22)
    # One-hot weights give one network's price: (e3, skip) = 1.53 + 0.3 + 0.1
    one_hot = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert float(s.latency(one_hot)) == pytest.approx(1.93, abs=1e-6)
    assert tiny[1].price([1, 2]) == pytest.approx(1.93, abs=1e-9)


def test_latency_gradient_wrt_theta_by_hand(tiny):
    s = search(*tiny)
    s.latency(torch.softmax(s.theta + s.mask, dim=1)).backward()
    assert flat(s.theta.grad) == pytest.approx(GRAD1 + GRAD2, abs=1e-6)


@pytest.mark.parametrize("target", [2.0, 3.0])
def test_absolute_loss_gradient_by_hand(tiny, target):
    # loss = CE + lam * |LAT / T - 1|; d/dtheta = lam * sign(LAT - T) / T * dLAT/dtheta
    s = search(*tiny, target_ms=target, lam=0.5)
    lat = s.latency(torch.softmax(s.theta + s.mask, dim=1))
    s.loss(torch.tensor(0.0), lat).backward()
    k = 0.5 * math.copysign(1.0, LAT - target) / target
    assert flat(s.theta.grad) == pytest.approx([k * g for g in GRAD1 + GRAD2], abs=1e-6)


def test_fbnet_loss_gradient_by_hand(tiny):
    # FBNet: loss = CE * alpha * log(LAT)^beta; d/dtheta = CE * alpha * beta * log(LAT)^(beta-1) / LAT * dLAT
    s = search(*tiny, loss="fbnet", alpha=0.2, beta=0.6)
    lat = s.latency(torch.softmax(s.theta + s.mask, dim=1))
    s.loss(torch.tensor(2.0), lat).backward()
    k = 2.0 * 0.2 * 0.6 * math.log(LAT) ** -0.4 / LAT
    assert flat(s.theta.grad) == pytest.approx([k * g for g in GRAD1 + GRAD2], abs=1e-6)


def test_supernet_forward_at_reduced_size():
    s = load_space("fbnet")
    layout = layout_for(s)
    net = SuperNet(s, layout, (32, 32), num_classes=10)
    w = torch.softmax(torch.zeros(len(layout.searched), 9), dim=1)
    y = net(torch.randn(2, 3, 32, 32), w)
    assert y.shape == (2, 10)
