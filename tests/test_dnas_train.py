"""DNAS training: tightening the target moves theta towards cheaper candidates; resume continues."""

import numpy as np
import torch

from nas.latency import SpacePricer
from nas.search.dnas.trainer import DnasConfig, DnasSearch
from nas.spaces import load_space
from tests.test_latency_table import fake_table


class TinyData:
    """96 random 32x32 images in 4 classes: enough signal for the latency term to act on."""

    def __init__(self, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.images = torch.randn(96, 3, 32, 32, generator=g)
        self.labels = torch.randint(0, 4, (96,), generator=g)
        self.classes = tuple("abcd")


def make(target, tmp_path=None, **kw):
    s = load_space("fbnet")
    keys = {l.key for f in s.factors for ls in f.layers for l in ls}
    pricer = SpacePricer(s, fake_table(keys))
    cfg = DnasConfig(target_ms=target, epochs=2, warmup_epochs=0, batch_size=32, resolution=32,
                     lr_theta=0.2, lam=20.0, samples=2, finetune_epochs=1, seed=3, **kw)
    ckpt = tmp_path / "dnas.pt" if tmp_path else None
    return DnasSearch(s, pricer, TinyData(), cfg, checkpoint=ckpt), pricer


def test_tighter_target_gives_cheaper_expected_latency():
    loose, pricer = make(3.0)
    tight, _ = make(1.0)
    start = loose.expected_ms()
    r_loose, r_tight = loose.run(), tight.run()
    assert tight.expected_ms() < start < loose.expected_ms()
    assert r_tight.expected_latency_ms[-1] < r_loose.expected_latency_ms[-1]
    assert r_tight.best.latency_ms <= r_loose.best.latency_ms
    assert pricer.fastest_ms() <= r_tight.best.latency_ms


def test_resume_continues_from_checkpoint(tmp_path):
    full, _ = make(1.5)
    expected = full.run()
    first, _ = make(1.5, tmp_path)
    first.run_epoch()                      # "killed" after one epoch
    again, _ = make(1.5, tmp_path)
    assert again.resume() and again.epoch == 1
    resumed = again.run()
    assert np.allclose(resumed.theta, expected.theta, atol=1e-5)
    assert resumed.best.choices == expected.best.choices
