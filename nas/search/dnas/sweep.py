"""A grid over DNAS's own hyperparameters: one DNAS run per setting, here or as Ray Tune trials.

``--dnas-sweep "lr_theta=0.02,0.1 lam=0.5,2"`` runs the 4 settings of the grid;
each run is an ordinary ``DnasSearch`` (checkpoint every epoch). Locally the runs
go one after another (checkpoints ``OUT/dnas_run-<i>.pt``, ``--resume``
continues them); with ``--backend ray`` each run is a Tune trial that reports its
expected latency every epoch, checkpoints through Tune (a dead worker's run is
retried from its last epoch) and returns its final candidates. Finished runs
are kept in ``OUT/dnas_runs.jsonl`` so a resumed sweep does not redo them.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

from nas.errors import NasError
from nas.fsutil import loads_json
from nas.jsonlog import append_json_line, read_log
from nas.search.dnas.records import BadRecord, result_from_record
from nas.search.dnas.trainer import DnasConfig, DnasResult, DnasSearch

# Hyperparameters a sweep may vary (architecture-independent knobs of the search itself).
SWEEPABLE = ("lr_weights", "lr_theta", "tau0", "tau_decay", "lam", "alpha", "beta", "seed")
RUNS_LOG = "dnas_runs.jsonl"


def parse_sweep(text: str) -> list[dict]:
    """``"lr_theta=0.02,0.1 lam=0.5,2"`` -> the grid's settings, in a fixed order."""
    axes = []
    for part in text.replace(";", " ").split():
        name, eq, values = part.partition("=")
        if not eq or not values:
            raise NasError(f"--dnas-sweep: {part!r} is not NAME=V1,V2,...")
        if name not in SWEEPABLE:
            raise NasError(f"--dnas-sweep: {name!r} cannot be swept; choose from {', '.join(SWEEPABLE)}")
        try:
            vals = [int(v) if name == "seed" else float(v) for v in values.split(",")]
        except ValueError:
            raise NasError(f"--dnas-sweep: {name}={values!r}: values must be numbers") from None
        if not all(math.isfinite(v) for v in vals) or (name == "seed" and not all(0 <= v < 2**32 for v in vals)):
            raise NasError(f"--dnas-sweep: {name}={values!r}: values must be finite"
                           + (" (seeds in 0..4294967295)" if name == "seed" else ""))
        if any(a[0] == name for a in axes):
            raise NasError(f"--dnas-sweep: {name} given twice")
        axes.append((name, vals))
    if not axes:
        raise NasError("--dnas-sweep is empty; e.g. --dnas-sweep 'lr_theta=0.02,0.1 lam=0.5,2'")
    return [dict(zip([a[0] for a in axes], combo)) for combo in itertools.product(*(a[1] for a in axes))]


def result_to_json(r: DnasResult) -> dict:
    return asdict(r)


class RunsLog:
    """``dnas_runs.jsonl``: one line per finished run (its settings and result), fsynced."""

    def __init__(self, path: Path, *, resume: bool, space, pricer):
        self.path, self.done = path, {}
        if resume and path.exists():
            for n, rec in read_log(path, "the sweep's finished runs"):
                try:
                    if set(rec) != {"settings", "result"} or not isinstance(rec["settings"], dict):
                        raise BadRecord("(root)", "expected a mapping with keys settings and result")
                    self.done[json.dumps(rec["settings"], sort_keys=True)] = \
                        result_from_record(rec["result"], space, pricer)
                except ValueError as e:
                    raise NasError(f"{path}: line {n}: {e}; not a finished run of this search (delete the "
                                   f"line to re-run it)") from None
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def get(self, settings: dict) -> DnasResult | None:
        return self.done.get(json.dumps(settings, sort_keys=True))

    def add(self, settings: dict, result: DnasResult) -> None:
        self.done[json.dumps(settings, sort_keys=True)] = result
        append_json_line(self.path, {"settings": settings, "result": result_to_json(result)})


def run_local(space, pricer, data, base: DnasConfig, grid: list[dict], out: Path, *, resume: bool,
              on_epoch: Callable[[], None]) -> list[DnasResult]:
    log = RunsLog(out / RUNS_LOG, resume=resume, space=space, pricer=pricer)
    results = []
    for i, settings in enumerate(grid):
        done = log.get(settings)
        if done is None:
            search = DnasSearch(space, pricer, data, replace(base, **settings), checkpoint=out / f"dnas_run-{i}.pt")
            if resume:
                search.resume()
            done = search.run(lambda epoch, ms: on_epoch())
            log.add(settings, done)
        results.append(done)
    return results


def dnas_trial(config: dict, *, space, pricer, data, base: DnasConfig, grid: list[dict]) -> None:
    """Tune trainable: one DNAS run, a Tune checkpoint and a report per epoch, the result at the end."""
    import torch
    from ray import tune
    torch.set_num_threads(1)
    cfg = replace(base, **grid[config["run"]])
    with tempfile.TemporaryDirectory() as work:
        ckpt = Path(work) / "dnas.pt"
        previous = tune.get_checkpoint()
        if previous:
            with previous.as_directory() as d:
                shutil.copy(Path(d) / "dnas.pt", ckpt)
        search = DnasSearch(space, pricer, data, cfg, checkpoint=ckpt)
        search.resume()
        while search.epoch < cfg.epochs:
            search.run_epoch()                     # writes dnas.pt
            metrics = {"epoch": search.epoch, "expected_ms": search.history[-1]}
            if search.epoch == cfg.epochs:
                metrics["result"] = json.dumps(result_to_json(search.finish()))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(work))


class Collect:
    """Driver side of a Ray sweep: each finished trial's result, checked like a ``dnas_runs.jsonl`` record
    (``records.result_from_record``), goes to the runs log. A result that fails the check (a worker of
    another version, a damaged report) is not trusted and does not stop the sweep: that run counts as
    failed, with the reason in ``failed`` (the summary's notes say it)."""

    def __init__(self, log: RunsLog, grid: list[dict], todo: list[int], space, pricer):
        self.log, self.grid, self.todo, self.space, self.pricer = log, grid, todo, space, pricer
        self.failed: dict[int, str] = {}

    def result(self, trial_run: int, result: dict) -> None:
        if "result" not in result:
            return
        run = self.todo[trial_run]
        try:
            if not isinstance(result["result"], str):
                raise ValueError("expected the result as JSON text")
            done = result_from_record(loads_json(result["result"]), self.space, self.pricer)
        except ValueError as e:
            self.failed[run] = f"its result was refused: {str(e)[:200]}"
            return
        self.log.add(self.grid[run], done)


def run_ray(space, pricer, data, base: DnasConfig, grid: list[dict], out: Path, *, resume: bool,
            address: str | None, workers: int, gpus_per_trial: float, storage: str | None,
            on_epoch: Callable[[], None]) -> tuple[list[DnasResult | None], dict[int, str]]:
    """The grid as Tune trials: each run's result (None for a run whose trial failed for good or whose
    result was refused) and, by run, why a run failed where that is known."""
    import ray
    from ray import tune

    from nas.search.backends.ray_places import is_local, storage_path
    from nas.search.backends.ray_tune import connect
    log = RunsLog(out / RUNS_LOG, resume=resume, space=space, pricer=pricer)
    todo = [i for i, s in enumerate(grid) if log.get(s) is None]
    collect = Collect(log, grid, todo, space, pricer)
    owns = False
    if todo:
        owns = connect(address, workers)

        class Progress(tune.Callback):
            def __getstate__(self):          # Tuner pickles its settings; nothing here needs to travel
                return {}

            def on_trial_result(self, iteration, trials, trial, result, **info):
                on_epoch()
                collect.result(trial.config["run"], result)

        base_cfg = replace(base, device="cuda" if gpus_per_trial > 0 else base.device)
        trainable = tune.with_parameters(dnas_trial, space=space, pricer=pricer, data=data, base=base_cfg,
                                         grid=[grid[i] for i in todo])
        root = storage_path(storage) if storage else str((out / "ray").resolve())   # a URI as given
        if is_local(root):
            shutil.rmtree(Path(root) / "dnas-sweep", ignore_errors=True)
        try:
            tune.Tuner(
                tune.with_resources(trainable, {"cpu": 1, "gpu": gpus_per_trial}),
                param_space={"run": tune.grid_search(list(range(len(todo))))},
                tune_config=tune.TuneConfig(max_concurrent_trials=workers,
                                            trial_dirname_creator=lambda t: f"run-{t.config['run']}"),
                run_config=tune.RunConfig(name="dnas-sweep", storage_path=root, verbose=0,
                                          callbacks=[Progress()], failure_config=tune.FailureConfig(max_failures=2),
                                          checkpoint_config=tune.CheckpointConfig(num_to_keep=1))).fit()
        finally:
            if owns:
                ray.shutdown()
        if is_local(root):
            shutil.rmtree(Path(root) / "dnas-sweep", ignore_errors=True)
    return [log.get(s) for s in grid], collect.failed


def settings_label(settings: dict) -> str:
    return " ".join(f"{k}={v:g}" for k, v in settings.items())


__all__ = ["SWEEPABLE", "parse_sweep", "run_local", "run_ray", "settings_label"]
