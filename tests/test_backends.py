"""Evaluation backends: local vs Ray Tune give the same search; killed workers retry; resume keeps trials."""

import json
import os
import signal

import numpy as np
import pytest
import torch

from nas.errors import NasError
from nas.search.accuracy.base import Estimate
from nas.search.accuracy.data import load_image_folder
from nas.search.accuracy.train import TrainEstimator
from nas.search.backends import Job
from nas.search.evaluate import Evaluator
from nas.search.session import SearchConfig, execute, prepare
from nas.latency import SpacePricer, load_table
from search_fixtures import tiny_space, write_table


def image_folder(root, n=30, size=16, seed=0):
    """Two classes a network can tell apart (a bright square in a corner), with noise."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for c, corner in (("left", 0), ("right", size // 2)):
        (root / c).mkdir(parents=True)
        for i in range(n):
            img = rng.random((size, size, 3)) * 0.6
            img[corner:corner + size // 2, corner:corner + size // 2] += 0.4
            Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.fixture
def setup(tmp_path):
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "iphone11-ane.yaml")
    lat = SpacePricer(space, load_table(table)).price(space.sample(np.random.default_rng(0), 2000))
    return tmp_path, space_path, space, table, float(np.percentile(lat, 60)), image_folder(tmp_path / "images")


def config(setup, out, **kw):
    tmp, space_path, _, table, target, data = setup
    base = dict(space=str(space_path), target_ms=target, out=str(tmp / out), table=str(table), trials=6,
                batch_size=3, export=False, baselines=False, accuracy="train", data=str(data), train_epochs=2,
                train_resolution=16, strategy="rl", seed=3)
    return SearchConfig(**(base | kw))


def logged(out):
    lines = (out / "trials.jsonl").read_text().splitlines()
    return json.loads(lines[0]), [{k: v for k, v in json.loads(l).items() if k != "wall_s"} for l in lines[1:]]


# -- without Ray ------------------------------------------------------------------------------------------

class OutOfOrder:
    """A backend that finishes jobs last-first, as parallel workers may."""

    def __init__(self):
        self.seen = []

    def run(self, jobs, estimator, on_result):
        self.seen += [j.arch for j in jobs]
        for k in reversed(range(len(jobs))):
            on_result(k, Estimate(0.5 + k / 100, "fake") if k != 1 else ValueError("boom"))

    def close(self):
        pass


def test_evaluator_hands_trials_on_in_proposal_order(setup):
    _, _, space, table, _, _ = setup
    pricer = SpacePricer(space, load_table(table))
    c = space.sample(np.random.default_rng(1), 3)
    batch = [tuple(c[0]), tuple(c[1]), tuple(c[0]), tuple(c[2])]       # a duplicate in the batch
    backend = OutOfOrder()
    ev = Evaluator(space=space, pricer=pricer, estimator=TrainEstimator.__new__(TrainEstimator), target_ms=1e9,
                   backend=backend)
    ev.estimator.observe = lambda *a: None
    order = []
    trials = ev.evaluate(batch, first_index=10, on_trial=lambda t: order.append(t.index))
    assert order == [10, 11, 12, 13] and [t.index for t in trials] == order
    assert len(backend.seen) == 3                                       # the duplicate is estimated once
    assert [t.result.status.value for t in trials] == ["OK", "FAILED", "OK", "OK"]
    assert trials[0].result.accuracy == trials[2].result.accuracy == 0.5
    assert "boom" in ev.failures[0]


def test_training_run_resumes_exactly_from_a_checkpoint(setup):
    _, _, space, _, _, data = setup
    est = TrainEstimator(data=load_image_folder(data, 16), epochs=3)
    net = space.decode(space.sample(np.random.default_rng(2)))
    whole = est.accuracy(net)
    run = est.start(net)
    run.train_epoch()
    state = run.state()
    torch.manual_seed(999)                                              # a fresh worker's RNG is elsewhere
    resumed = est.start(net)
    resumed.load(state)
    while not resumed.done:
        resumed.train_epoch()
    assert resumed.accuracy() == whole


def test_progress_moves_per_trial_and_counts_replayed_ones(setup):
    steps = []
    execute(prepare(config(setup, "p", trials=5)), on_progress=steps.append)
    assert steps == [1] * 5
    (setup[0] / "p" / "summary.json").unlink()
    steps.clear()
    execute(prepare(config(setup, "p", trials=7, resume=True)), on_progress=steps.append)
    assert sum(steps) == 7 and steps[-2:] == [1, 1]      # the stored five at once, then the fresh ones


@pytest.mark.parametrize("kw, match", [
    (dict(backend="ray", accuracy="proxy", data=None), "needs --accuracy train"),
    (dict(backend="ray", strategy="dnas"), "dnas trains one supernet"),
    (dict(backend="local", early_stop="asha"), "--early-stop needs --backend ray"),
    (dict(backend="ray", workers=0), "--workers must be an integer in 1\\.\\."),
    (dict(backend="spark"), "unknown --backend"),
])
def test_backend_settings_refused_before_work(setup, kw, match):
    with pytest.raises(NasError, match=match):
        prepare(config(setup, "x", **kw))
    assert not (setup[0] / "x").exists()


def test_ray_backend_resume_reuses_completed_trials_without_ray(setup, monkeypatch):
    from nas.search.backends.ray_tune import COMPLETED, RayBackend
    _, _, space, _, _, data = setup
    est = TrainEstimator(data=load_image_folder(data, 16), epochs=2)
    jobs = [Job(tuple(c), space.decode(c), str(space.decode(c))) for c in space.sample(np.random.default_rng(4), 2)]
    folder = setup[0] / "r" / "ray"
    folder.mkdir(parents=True)
    (folder / COMPLETED).write_text(
        json.dumps({"arch": jobs[0].arch, "accuracy": 0.75, "epoch": 2, "retries": 0}) + "\n"
        + json.dumps({"arch": jobs[1].arch, "accuracy": 0.5, "epoch": 1, "retries": 1}) + "\n"
        + '{"arch": "cut sho')                                          # a line cut by a kill
    backend = RayBackend(out=setup[0] / "r", resume=True)
    monkeypatch.setattr(backend, "_connect", lambda: pytest.fail("all jobs were completed: Ray must not start"))
    got = {}
    backend.run(jobs, est, lambda k, e: got.setdefault(k, e))
    assert got[0] == Estimate(0.75, "train", {})
    assert got[1] == Estimate(0.5, "train-stopped@1ep", {"epochs_trained": 1.0, "worker_retries": 1.0})
    fresh = RayBackend(out=setup[0] / "r", resume=False)                 # a new search starts empty
    assert fresh.completed.records == {}


def test_ray_backend_interrupted_run_is_not_logged_as_failed(setup, monkeypatch):
    """Ctrl-C makes Tune return trials without a result or an error: they must be redone, not FAILED."""
    from nas.search.backends import ray_tune
    _, _, space, _, _, data = setup
    est = TrainEstimator(data=load_image_folder(data, 16), epochs=2)
    jobs = [Job(tuple(c), space.decode(c), str(space.decode(c))) for c in space.sample(np.random.default_rng(6), 2)]

    class Stopped:
        def __init__(self, job, error=None):
            self.config, self.error = {"job": job}, error

    class InterruptedTuner:
        def __init__(self, *a, **k):
            pass

        def fit(self):
            return [Stopped(0), Stopped(1, error=RuntimeError("segfault"))]

    monkeypatch.setattr(ray_tune.tune, "Tuner", InterruptedTuner)
    monkeypatch.setattr(ray_tune.tune, "with_parameters", lambda f, **k: f)
    monkeypatch.setattr(ray_tune.tune, "with_resources", lambda f, r: f)
    backend = ray_tune.RayBackend(out=setup[0] / "i")
    monkeypatch.setattr(backend, "_connect", lambda: None)
    got = {}
    with pytest.raises(NasError, match="stopped before 1 candidate.*--resume"):
        backend.run(jobs, est, lambda k, e: got.setdefault(k, e))
    assert list(got) == [1] and "segfault" in str(got[1])            # the failed one is FAILED, not the stopped


# -- with a local Ray (2 workers) -------------------------------------------------------------------------

@pytest.mark.ray
def test_ray_backend_records_the_same_search_as_local(setup):
    local = execute(prepare(config(setup, "local")))
    ray_run = execute(prepare(config(setup, "ray", backend="ray", workers=2)))
    h_local, t_local = logged(setup[0] / "local")
    h_ray, t_ray = logged(setup[0] / "ray")
    assert h_local == h_ray
    assert t_local == t_ray and len(t_ray) == 6
    assert sum(t["status"] == "OK" for t in t_ray) >= 2                 # it really trained something
    assert local["best"] == ray_run["best"]
    assert ray_run["backend"] == {"name": "ray", "address": "local", "workers": 2, "gpus_per_trial": 0.0,
                                  "early_stop": "none"}
    completed = (setup[0] / "ray" / "ray" / "completed.jsonl").read_text().splitlines()
    assert len(completed) == sum(t["status"] == "OK" for t in t_ray)


@pytest.mark.ray
@pytest.mark.parametrize("strategy", ["tpe", "nsga2"])
def test_optuna_strategies_on_ray_record_the_same_search_as_local(setup, strategy):
    # optuna's samplers ask for a batch, Ray evaluates it out of order: the trial log, the proposals and
    # the best must be those of the local run (same seed).
    local = execute(prepare(config(setup, f"l{strategy}", strategy=strategy)))
    ray_run = execute(prepare(config(setup, f"r{strategy}", strategy=strategy, backend="ray", workers=2)))
    h_local, t_local = logged(setup[0] / f"l{strategy}")
    h_ray, t_ray = logged(setup[0] / f"r{strategy}")
    assert h_local == h_ray and t_local == t_ray and len(t_ray) == 6
    assert sum(t["status"] == "OK" for t in t_ray) >= 2
    assert local["best"] == ray_run["best"]


@pytest.mark.ray
def test_killed_ray_worker_is_retried_from_its_checkpoint(setup):
    import ray
    from ray import tune

    from nas.search.backends.ray_tune import RayBackend
    _, _, space, _, _, data = setup
    est = TrainEstimator(data=load_image_folder(image_folder(setup[0] / "big", n=120, size=32), 32), epochs=4)
    nets = [space.decode(c) for c in space.sample(np.random.default_rng(5), 3)]
    jobs = [Job(tuple(), n, str(n)) for n in nets]
    killed = []

    class KillOnce(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if trial.config["job"] == 0 and result["epoch"] == 2 and not killed:   # half-way
                killed.append(result["pid"])
                os.kill(result["pid"], signal.SIGKILL)                  # the worker dies mid-trial

    backend = RayBackend(out=setup[0] / "k", workers=2, max_failures=2, callbacks=[KillOnce()])
    got = {}
    try:
        backend.run(jobs, est, lambda k, e: got.setdefault(k, e))
    finally:
        backend.close()
    assert killed and not ray.is_initialized()
    assert sorted(got) == [0, 1, 2] and all(isinstance(e, Estimate) for e in got.values())
    assert got[0].metrics == {"worker_retries": 1.0}                    # retried once ...
    for k, net in enumerate(nets):                                      # ... and nothing lost or changed
        assert got[k].accuracy == est.accuracy(net) and got[k].kind == "train"
    records = [json.loads(l) for l in (setup[0] / "k" / "ray" / "completed.jsonl").read_text().splitlines()]
    assert {r["arch"] for r in records} == {j.arch for j in jobs}
    assert next(r for r in records if r["arch"] == jobs[0].arch)["restored_from_epoch"] >= 1


def test_trial_wall_time_is_its_own_share_not_cumulative(setup):
    """trials.csv's wall_s adds up to the batch's wall time (experiments sum it into cost curves)."""
    import time as _time
    _, _, space, table, _, _ = setup

    class Slow:
        kind = "fake"

        def estimate(self, net, choices):
            _time.sleep(0.2)
            return Estimate(0.5, "fake")

        def observe(self, *a):
            pass

    c = space.sample(np.random.default_rng(7), 3)
    ev = Evaluator(space=space, pricer=SpacePricer(space, load_table(table)), estimator=Slow(), target_ms=1e9)
    t0 = _time.perf_counter()
    trials = ev.evaluate([tuple(x) for x in c], first_index=0)
    walls = [t.wall_s for t in trials]
    assert all(0.19 < w < 0.6 for w in walls)
    assert sum(walls) <= _time.perf_counter() - t0 + 1e-6


@pytest.mark.ray
@pytest.mark.slow
def test_ctrl_c_stops_a_ray_search(setup):
    """Regression (docs walk-through, docs/ray.md's command): Ray Tune's own SIGINT handler ended only the
    Tune run under way, so `nas search --backend ray` went on (next batch, baselines) through two Ctrl-Cs.
    Now Ctrl-C stops the command as the local backend does, and the finished trials are kept."""
    import subprocess
    import sys
    import time
    tmp, space_path, _, table, target, data = setup
    out = tmp / "s"
    proc = subprocess.Popen([sys.executable, "-m", "nas", "search", "--space", str(space_path), "--table", str(table),
                             "--target-ms", str(target), "--accuracy", "train", "--data", str(data),
                             "--backend", "ray", "--workers", "2", "--batch-size", "2", "--trials", "40",
                             "--train-epochs", "2", "--train-resolution", "16", "--no-export", "--no-baselines",
                             "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    completed = out / "ray" / "completed.jsonl"
    deadline = time.monotonic() + 400
    while (not completed.exists() or len(completed.read_text().splitlines()) < 3) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    proc.send_signal(signal.SIGINT)
    try:
        log, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the search went on after Ctrl-C")
    assert proc.returncode == 130 and "interrupted" in log, log[-3000:]
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()[1:]]
    assert 0 < len(trials) < 40                     # stopped early; finished trials kept for --resume
