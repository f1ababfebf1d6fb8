"""DNAS latency term: equals the table price at one-hot weights; its gradient is the table."""

import numpy as np
import torch

from nas.latency import SpacePricer
from nas.search.dnas.supernet import SuperNet, candidate_latency, expected_latency, layout_for
from nas.spaces import load_space
from tests.test_latency_table import fake_table


def setup(name):
    s = load_space(name)
    keys = {l.key for f in s.factors for ls in f.layers for l in ls}
    pricer = SpacePricer(s, fake_table(keys))
    layout = layout_for(s)
    return s, pricer, layout


def test_one_hot_latency_equals_table_price():
    for name in ("fbnet", "ios"):
        s, pricer, layout = setup(name)
        const, t = candidate_latency(s, pricer, layout)
        rng = np.random.default_rng(0)
        for _ in range(5):
            choices = np.array(layout.fixed)
            for d in layout.searched:
                choices[d] = rng.integers(len(s.decisions[d].options))
            m = torch.zeros(t.shape, dtype=torch.float64)
            for l, d in enumerate(layout.searched):
                m[l, choices[d]] = 1.0
            lat = expected_latency(const, torch.tensor(t), m)
            assert abs(lat.item() - pricer.price(choices)) < 1e-9


def test_gradient_is_per_candidate_latency():
    s, pricer, layout = setup("fbnet")
    const, t = candidate_latency(s, pricer, layout)
    m = torch.full(t.shape, 1.0 / t.shape[1], dtype=torch.float64, requires_grad=True)
    expected_latency(const, torch.tensor(t), m).backward()
    assert torch.allclose(m.grad, torch.tensor(t))


def test_supernet_forward_at_reduced_size():
    s, pricer, layout = setup("fbnet")
    net = SuperNet(s, layout, (32, 32), num_classes=10)
    w = torch.softmax(torch.zeros(len(layout.searched), 9), dim=1)
    y = net(torch.randn(2, 3, 32, 32), w)
    assert y.shape == (2, 10)
