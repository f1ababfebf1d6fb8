"""Candidates as Ray Tune trials, on this machine or on a Ray cluster.

Each batch the strategy proposes becomes one Tune experiment
(``<storage>/batch-<hash>``): one trial per candidate to train. A trial
rebuilds the network from its DSL string, trains it under the estimator's
recipe one epoch at a time, reports held-out accuracy and saves a checkpoint
after every epoch. ``FailureConfig(max_failures)`` retries a trial whose worker
died, from its last checkpoint (the run restores weights, optimizer, schedule
and random streams, so the retried trial ends where an unbroken one would).
Optional ASHA stops trials that trail their peers at the same epoch; those
keep the accuracy they had and say so (``epochs_trained``).

Every finished trial is appended to ``<out>/ray/completed.jsonl`` as Tune
reports it, so a driver killed mid-batch resumes (``--resume``) without
training them again; the evaluator hands trials on in proposal order, so the
trial log, the strategy and the result files are those of the local backend.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ray import tune
from ray.tune.schedulers import ASHAScheduler

from nas.arch import parse_net
from nas.errors import NasError
from nas.fsutil import is_finite_number
from nas.jsonlog import append_json_line, bad_line, read_log
from nas.search.accuracy.base import Estimate
from nas.search.accuracy.train import TrainEstimator
from nas.search.backends import Job, OnResult
from nas.search.backends.ray_places import is_local, storage_path

EARLY_STOP = ("none", "asha")
COMPLETED = "completed.jsonl"


def connect(address: str | None, workers: int) -> bool:
    """Join ``address`` or start a local Ray with ``workers`` CPUs; True when this call started it."""
    import ray
    # A checkpoint every epoch is the point here; Tune's warning about frequent snapshots is noise.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")   # the classic reporter honours verbose=0: our bar shows progress
    # Ctrl-C must stop the search as it does locally (finished trials are in completed.jsonl, --resume goes on).
    # Tune's own SIGINT handler only ends the current Tune run, so the search went on with the next batch or
    # the baselines, and a second Ctrl-C ended the next run only (seen in the docs walk-through).
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
    if ray.is_initialized():
        return False
    try:
        if address and address != "local":   # an existing cluster: its CPUs are its own
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:   # a new local Ray (`local` says so explicitly, even when a cluster runs here): --workers CPUs
            ray.init(address=address, num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
    except ConnectionError as e:
        raise NasError(f"--ray-address {address}: cannot reach a Ray cluster ({e}); start one with "
                       f"`ray start --head` or leave --ray-address out for a local Ray") from None
    return True


def train_candidate(config: dict, *, estimator: TrainEstimator, archs: Sequence[str], device: str) -> None:
    """The Tune trainable: train ``archs[config['job']]``, report and checkpoint every epoch."""
    import torch
    torch.set_num_threads(estimator.threads)
    run = estimator.start(parse_net(archs[config["job"]]), device)
    restored = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as d:
            run.restore(Path(d) / "run.pt")     # checked: a refusal fails this trial (named in its error)
        restored = run.epoch
    while not run.done:
        run.train_epoch()
        metrics = {"accuracy": run.accuracy(), "epoch": run.epoch, "restored_from_epoch": restored,
                   "pid": os.getpid()}
        with tempfile.TemporaryDirectory() as d:
            torch.save(run.state(), Path(d) / "run.pt")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))


def _bad_record(r: dict) -> tuple[str, str] | None:
    """(field, why) when a line of completed.jsonl is not a record this backend writes."""
    if not isinstance(r.get("arch"), str):
        return "arch", "expected an architecture string"
    if not is_finite_number(r.get("accuracy")) or not 0 <= r["accuracy"] <= 1:
        return "accuracy", f"{r.get('accuracy')!r:.60} is not a finite number in [0, 1]"
    for k in ("epoch", "retries", "restored_from_epoch"):
        if type(r.get(k, 0)) is not int or r.get(k, 0) < 0 or (k == "epoch" and k not in r):
            return k, "expected an integer >= 0"
    return None


class CompletedLog:
    """``completed.jsonl``: one line per finished Ray trial, keyed by architecture, fsynced."""

    def __init__(self, path: Path, *, resume: bool):
        self.path = path
        self.records: dict[str, dict] = {}
        if resume and path.exists():
            for n, r in read_log(path, "the Ray trials' results"):
                bad = _bad_record(r)
                if bad:
                    raise bad_line(path, n, *bad, "a finished Ray trial")
                self.records[r["arch"]] = r
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def add(self, rec: dict) -> None:
        self.records[rec["arch"]] = rec
        append_json_line(self.path, rec)


def estimate_of(rec: dict, epochs: int) -> Estimate:
    """The estimate a finished trial stands for; extra metrics only where it differs from a local run."""
    extra = {}
    kind = "train"
    if rec["epoch"] < epochs:
        kind = f"train-stopped@{rec['epoch']}ep"
        extra["epochs_trained"] = float(rec["epoch"])
    if rec.get("retries"):
        extra["worker_retries"] = float(rec["retries"])
    return Estimate(float(rec["accuracy"]), kind, extra)


class _Forward(tune.Callback):
    """Driver-side: record each finished trial and hand it on at once (so the trial log grows live)."""

    def __init__(self, backend: "RayBackend", todo: list[int], jobs: Sequence[Job], on_result: OnResult):
        self.backend, self.todo, self.jobs, self.on_result = backend, todo, jobs, on_result
        self.reported: set[int] = set()

    def __getstate__(self):
        # Tuner pickles its settings (for Tuner.restore, which this backend does not use); the trial log
        # behind on_result is an open file, so a pickled copy carries nothing.
        return {"reported": set()}

    def on_trial_complete(self, iteration, trials, trial, **info):
        i = trial.config["job"]
        last = trial.last_result or {}
        if i in self.reported or "accuracy" not in last:
            return
        rec = {"arch": self.jobs[self.todo[i]].arch, "accuracy": last["accuracy"], "epoch": int(last["epoch"]),
               "retries": int(getattr(trial, "num_failures", 0)), "restored_from_epoch":
               int(last.get("restored_from_epoch", 0))}
        self.backend.completed.add(rec)
        self.reported.add(i)
        self.on_result(self.todo[i], estimate_of(rec, self.backend.epochs))

    def on_trial_error(self, iteration, trials, trial, **info):
        i = trial.config["job"]
        if i not in self.reported:
            self.reported.add(i)
            self.on_result(self.todo[i], RuntimeError(
                f"Ray trial failed after {getattr(trial, 'num_failures', '?')} attempt(s): {trial.error_file}"))


class RayBackend:
    """Train candidates as Ray Tune trials.

    Args:
        out: the search's output folder; Ray's records go to ``out/ray``.
        address: ``None`` starts a local Ray with ``workers`` CPUs; ``auto`` or ``HOST:PORT`` joins a cluster.
        workers: trials run at once (``max_concurrent_trials``).
        gpus_per_trial: GPUs each trial asks Ray for (> 0 trains on CUDA).
        early_stop: ``none`` (results equal the local backend's) or ``asha``.
        max_failures: retries of a trial whose worker died.
        storage: where Tune keeps checkpoints (default ``out/ray``; on a multi-node cluster a path all nodes share).
        resume: keep ``completed.jsonl`` from an earlier run of this search.
        callbacks: extra Tune callbacks (monitoring; the tests use one to kill a worker).
    """

    name = "ray"

    def __init__(self, *, out: str | os.PathLike, address: str | None = None, workers: int = 2,
                 gpus_per_trial: float = 0.0, early_stop: str = "none", max_failures: int = 2,
                 storage: str | None = None, resume: bool = False, callbacks: Sequence[tune.Callback] = ()):
        if workers < 1 or gpus_per_trial < 0 or max_failures < 0:
            raise NasError(f"need --workers >= 1 and --gpus-per-trial >= 0, got {workers}, {gpus_per_trial}")
        if early_stop not in EARLY_STOP:
            raise NasError(f"unknown --early-stop {early_stop!r}; choose one of {', '.join(EARLY_STOP)}")
        self.dir = Path(out) / "ray"
        self.storage = storage_path(storage) if storage else str(self.dir.resolve())   # a URI as given
        self.address, self.workers, self.gpus, self.early_stop = address, workers, gpus_per_trial, early_stop
        self.max_failures, self.callbacks = max_failures, list(callbacks)
        self.completed = CompletedLog(self.dir / COMPLETED, resume=resume)
        self.epochs = 0
        self._owns_ray = False

    def _connect(self) -> None:
        self._owns_ray = connect(self.address, self.workers) or self._owns_ray

    def run(self, jobs: Sequence[Job], estimator, on_result: OnResult) -> None:
        if not isinstance(estimator, TrainEstimator):
            raise NasError(f"--backend ray trains candidates: it needs --accuracy train, not {estimator.kind!r}")
        self.epochs = estimator.epochs
        todo = []
        for k, job in enumerate(jobs):
            rec = self.completed.records.get(job.arch)
            if rec is not None:
                on_result(k, estimate_of(rec, self.epochs))
            else:
                todo.append(k)
        if not todo:
            return
        self._connect()
        archs = [jobs[k].arch for k in todo]
        name = "batch-" + hashlib.sha1("\n".join(archs).encode()).hexdigest()[:12]
        if is_local(self.storage):                                      # (a bucket's is left to Tune)
            shutil.rmtree(Path(self.storage) / name, ignore_errors=True)   # a killed driver's half batch
        forward = _Forward(self, todo, jobs, on_result)
        scheduler = None
        if self.early_stop == "asha":
            scheduler = ASHAScheduler(time_attr="epoch", metric="accuracy", mode="max", max_t=self.epochs,
                                      grace_period=1, reduction_factor=2)
        trainable = tune.with_parameters(train_candidate, estimator=estimator, archs=archs,
                                         device="cuda" if self.gpus > 0 else "cpu")
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1, "gpu": self.gpus}),
            param_space={"job": tune.grid_search(list(range(len(todo))))},
            tune_config=tune.TuneConfig(max_concurrent_trials=self.workers, scheduler=scheduler,
                                        trial_dirname_creator=lambda t: f"cand-{t.config['job']}"),
            run_config=tune.RunConfig(
                name=name, storage_path=self.storage, verbose=0, callbacks=[forward, *self.callbacks],
                failure_config=tune.FailureConfig(max_failures=self.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1)))
        grid = tuner.fit()
        unfinished = 0
        for result in grid:                     # what the callbacks did not see
            i = result.config["job"]
            if i in forward.reported:
                continue
            if result.error is None:            # stopped, not failed (Ctrl-C): never log it as FAILED
                unfinished += 1
                continue
            forward.reported.add(i)
            on_result(todo[i], RuntimeError(f"Ray trial failed: {result.error}"))
        if unfinished:
            raise NasError(f"the Ray run stopped before {unfinished} candidate(s) finished (interrupted?); the "
                           f"finished ones are kept in {self.completed.path}: rerun with --resume")
        if is_local(self.storage):
            shutil.rmtree(Path(self.storage) / name, ignore_errors=True)   # checkpoints of finished trials

    def close(self) -> None:
        if self._owns_ray:
            import ray
            ray.shutdown()
            self._owns_ray = False
