"""The checkpoint fuzzer (tests/test_fuzz_checkpoints.py) over the Ray backend's per-trial ``run.pt``.

A real state is saved by ``TrainingRun.state`` after one epoch of a tiny candidate (as
``ray_tune.train_candidate`` saves it every epoch), damaged like a DNAS checkpoint and restored by a new
run of the same candidate with ``TrainingRun.restore``: refused naming the file (a refusal fails that
Ray trial, whose error names it), or accepted and the next epoch trains to finite weights.
"""

from __future__ import annotations

import os

import pytest
import torch

from nas.arch.dsl import parse_net
from nas.errors import NasError
from nas.search.accuracy.train import TrainEstimator
from test_fuzz_checkpoints import CASES, Payload, TinyData, edited, fuzz_restores


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    data = TinyData()
    data.name = "tiny"
    est = TrainEstimator(data=data, epochs=3, batch=16, seed=1)
    net = parse_net("16:conv_k3_s2_c8|gap,fc_c2")
    first = est.start(net)
    first.train_epoch()
    torch.save(first.state(), tmp / "run.pt")
    return lambda: est.start(net), tmp / "run.pt"


def _open(start):
    def open_case(case):
        run = start()
        return lambda: run.restore(case) or True, run.train_epoch, lambda: list(run.model.parameters())
    return open_case


@pytest.mark.parametrize("seeds", [range(CASES), pytest.param(range(1000, 1300), marks=pytest.mark.slow)],
                         ids=["default", "many"])
def test_fuzz_run_checkpoint(made, tmp_path, monkeypatch, seeds):
    start, template = made
    fuzz_restores("run.pt", template, _open(start), seeds, tmp_path, monkeypatch)


def test_template_restores_and_continues_like_the_first_run(made):
    start, template = made
    run = start()
    run.restore(template)
    assert run.epoch == 1 and run.sched.last_epoch == 3                  # 48 images, 20% held out: 3 batches
    run.train_epoch()
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


# -- findings: each loaded with weights_only=True, then failed or poisoned the weights later ---------

@pytest.mark.parametrize("path, value, field", [
    (("epoch",), 99, "epoch"),                                           # was: accepted, no epoch, no report
    (("epoch",), "1", "epoch"),                                          # was: accepted (int("1"))
    (("model", "stages.0.0.0.weight"), lambda t: t * float("nan"), "model.stages.0.0.0.weight"),   # was: NaN weights
    (("model", "stages.0.0.0.weight"), lambda t: torch.zeros(3), "model.stages.0.0.0.weight"),     # was: RuntimeError
    (("opt", "param_groups", 0, "lr"), float("nan"), "opt.param_groups"),            # was: NaN weights
    (("opt", "param_groups", 0, "lr"), 1e9, "opt.param_groups"),
    (("opt", "param_groups", 0, "momentum"), 5.0, "opt.param_groups"),   # was: accepted, another recipe
    (("opt", "state", 0, "momentum_buffer"), 0.5, "opt.state.0.momentum_buffer"),    # was: AttributeError
    (("sched", "T_max"), 10**400, "sched.T_max"),                        # was: OverflowError
    (("sched", "_last_lr"), [float("inf")], "sched._last_lr"),          # was: accepted
    (("sched", "last_epoch"), -5, "sched.last_epoch"),                  # was: accepted, schedule shifted
    (("order",), lambda t: torch.zeros(3, dtype=torch.uint8), "order"),               # was: RuntimeError
    (("torch_rng",), lambda t: t.float(), "torch_rng"),                  # was: TypeError
])
def test_run_state_values_are_refused(made, tmp_path, path, value, field):
    start, template = made
    case = edited(template, path, value, tmp_path / "run.pt")
    with pytest.raises(NasError) as e:
        start().restore(case)
    assert f"{case}: field {field}:" in str(e.value), str(e.value)


def test_pickled_object_is_refused_and_not_run(made, tmp_path, monkeypatch):
    start, _ = made
    monkeypatch.chdir(tmp_path)
    case = tmp_path / "run.pt"
    torch.save({"epoch": 1, "model": Payload()}, case)
    with pytest.raises(NasError, match="run.pt: not a training checkpoint of `nas search` \\(it holds pickled"):
        start().restore(case)
    assert not os.path.exists("NAS_FUZZ_PWNED")
