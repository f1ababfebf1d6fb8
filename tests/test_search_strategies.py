"""The strategy contract, over every strategy: seeded, in range, robust to FAILED, rebuildable by replay."""

import numpy as np
import pytest

from nas.search.accuracy.predictor import GaussianProcess, one_hot
from nas.search.strategies import STRATEGIES, AgingEvolution, Result, Status, make_strategy
from nas.search.strategies.mutation import mutate
from nas.search.strategies.reward import mnas_reward

CARD = (3, 5, 1, 9, 2, 9)


def toy(choices, fail_every=0, i=0):
    c = np.array(choices)
    lat = float((c * np.arange(1, len(c) + 1)).sum()) + 1.0
    if fail_every and i % fail_every == 0:
        return Result(tuple(choices), Status.FAILED, {})
    if lat > 40:
        return Result(tuple(choices), Status.INFEASIBLE, {"latency_ms": lat})
    return Result(tuple(choices), Status.OK, {"latency_ms": lat, "accuracy": float(np.sin(c).sum())})


def drive(strategy, rounds=6, n=5, fail_every=0):
    asked = []
    for r in range(rounds):
        batch = strategy.ask(n)
        asked += batch
        strategy.tell([toy(c, fail_every, r * n + j) for j, c in enumerate(batch)])
    return asked


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_proposals(name):
    a = drive(make_strategy(name, cardinalities=CARD, seed=3, target_ms=40))
    b = drive(make_strategy(name, cardinalities=CARD, seed=3, target_ms=40))
    c = drive(make_strategy(name, cardinalities=CARD, seed=4, target_ms=40))
    assert a == b and a != c


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_never_out_of_range_and_survives_failures(name):
    s = make_strategy(name, cardinalities=CARD, seed=0, target_ms=40)
    asked = drive(s, rounds=12, n=7, fail_every=2)
    arr = np.array(asked)
    assert arr.shape == (84, len(CARD)) and (arr >= 0).all() and (arr < np.array(CARD)).all()
    assert all(isinstance(v, int) for v in asked[0])
    s.tell([Result(asked[0], Status.FAILED, {})] * 5)    # all failed: still proposes
    assert len(s.ask(3)) == 3


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_rejects_bad_construction(name):
    with pytest.raises(ValueError):
        make_strategy(name, cardinalities=(), seed=0, target_ms=1)
    with pytest.raises(ValueError):
        make_strategy(name, cardinalities=CARD, seed=-1, target_ms=1)
    with pytest.raises(TypeError):
        STRATEGIES[name](CARD)   # keyword-only


def test_evolution_seeds_first_and_mutates_k():
    init = [(0, 0, 0, 0, 0, 0), (2, 4, 0, 8, 1, 8)]
    s = AgingEvolution(cardinalities=CARD, seed=0, population_size=4, sample_size=2, initial=init)
    assert s.ask(2) == init
    rng = np.random.default_rng(0)
    parent = np.array([1, 2, 0, 3, 1, 4])
    for k in (1, 2, 3):
        child = mutate(parent, np.array(CARD), k, rng)
        assert (child != parent).sum() == k and child[2] == 0
    with pytest.raises(ValueError):
        AgingEvolution(cardinalities=CARD, initial=[(9,) * 6])


def test_evolution_prefers_feasible_then_faster():
    s = AgingEvolution(cardinalities=(9,) * 4, seed=0, population_size=4, sample_size=4)
    s.ask(4)
    s.tell([Result((1, 1, 1, 1), Status.INFEASIBLE, {"latency_ms": 9.0}),
            Result((2, 2, 2, 2), Status.INFEASIBLE, {"latency_ms": 7.0}),
            Result((3, 3, 3, 3), Status.OK, {"latency_ms": 5.0, "accuracy": 0.1}),
            Result((4, 4, 4, 4), Status.OK, {"latency_ms": 5.0, "accuracy": 0.2})])
    assert s._tournament().choices == (4, 4, 4, 4)


def test_reward_soft_and_hard():
    assert mnas_reward(0.8, 10, 10) == pytest.approx(0.8)
    assert mnas_reward(0.8, 20, 10) == pytest.approx(0.8 * 2 ** -0.07)
    assert mnas_reward(0.8, 5, 10, mode="hard") == pytest.approx(0.8)
    assert mnas_reward(0.8, 20, 10, mode="hard") == pytest.approx(0.4)


def test_rl_policy_learns_a_preferred_option():
    s = make_strategy("rl", cardinalities=(4, 4), seed=0, target_ms=10)
    for _ in range(40):
        batch = s.ask(8)
        s.tell([Result(c, Status.OK, {"latency_ms": 5.0, "accuracy": 1.0 if c[0] == 2 else 0.5}) for c in batch])
    assert s.probs()[0].argmax() == 2 and s.probs()[0, 2] > 0.6
    assert np.allclose(s.probs().sum(1), 1)


def test_gp_interpolates_and_is_uncertain_far_away():
    card = np.array([3, 3, 3])
    x = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 1, 2], [2, 1, 0]])
    y = np.array([0.1, 0.5, 0.9, 0.4, 0.6])
    gp = GaussianProcess().fit(one_hot(x, card), y)
    mean, std = gp.predict(one_hot(x, card))
    assert np.allclose(mean, y, atol=0.05)
    _, far = gp.predict(one_hot(np.array([[1, 0, 2]]), card))
    assert far[0] > std.max()
