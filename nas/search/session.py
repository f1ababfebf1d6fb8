"""One search from settings to files: checks first (before any work), then the loop, then the report.

``prepare`` loads the space and table and refuses what cannot work -- a table
for another device or unit, a target below the fastest network of the space,
a missing or empty ``--data`` folder, an unknown ``--seed-from`` model, a
``--accuracy benchmark`` on a space or network its benchmark does not hold -- in
milliseconds. It also notes a target that does not bind (every network of the
space within it; per pair when there are several: ``nas.search.targets``).
``execute`` builds the estimator and strategy, runs the loop with the trial
log, and writes ``summary.json``, ``best.yaml``, ``trials.csv``, ``pareto.png``
and ``best.mlpackage`` into ``out``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nas import zoo
from nas.arch.yaml_io import dump_net
from nas.errors import NasError
from nas.fsutil import file_sha256, lock_folder, portable_path, write_atomic
from nas.latency import SpacePricer, price_net
from nas.latency.table import LatencyTable, MissingEntry
from nas.latency.trust import flag_chosen
from nas.search import report
from nas.search.accuracy import (DEFAULT_ESTIMATOR, ESTIMATORS, ZEROSHOT, BenchmarkEstimator, PredictorEstimator,
                                 ProxyEstimator, ScoreEstimator, TrainEstimator)
from nas.search.accuracy.data import check_image_folder, load_digits, load_image_folder
from nas.search.accuracy.validation import validation
from nas.search.backends import BACKENDS, LocalBackend
from nas.search.checks import check_config
from nas.search.evaluate import Evaluator
from nas.search.run import run
from nas.search.storage import Trial, TrialLog
from nas.search.strategies import STRATEGIES, make_strategy
from nas.search.targets import non_binding_notes, open_pricer
from nas.spaces import Space, load_space

BUDGETS = {"small": 96, "medium": 144, "large": 480}   # evaluated candidates
REFERENCE_SEED, REFERENCE_SIZE = 20190101, 12            # the proxy's fixed calibration sample of a space
LOOKUP_SYNC_S = 0.5                                      # trial-log fsync interval of a lookup search
DIFFERENTIABLE = ("dnas",)   # a trainer over the same pricer, not an ask/tell strategy (nas.search.dnas)


@dataclass
class SearchConfig:
    space: str
    target_ms: float
    out: str
    device: str = "iphone11"
    unit: str = "ane"
    table: str | None = None
    allow_other_device: bool = False
    runtime: str | None = None      # table regime; None = the one `nas export` targets (nas.latency.regime)
    strategy: str = "evolution"
    trials: int = BUDGETS["medium"]
    batch_size: int = 8
    accuracy: str = DEFAULT_ESTIMATOR
    data: str | None = None
    seed: int = 0
    export: bool = True
    resume: bool = False
    seed_from: tuple[str, ...] = ()
    proxy_resolution: int = 64
    proxy_batch: int = 16
    train_epochs: int = 3
    train_resolution: int = 32
    bench_seed: int | None = None          # --accuracy benchmark: one training seed's accuracy instead of the mean
    baselines: bool = True
    backend: str = "local"                 # local | ray (nas.search.backends)
    ray_address: str | None = None         # None: a local Ray; "auto" or HOST:PORT: a running cluster
    workers: int = 2                       # Ray trials at once
    gpus_per_trial: float = 0.0
    early_stop: str = "none"               # none | asha (ray only; changes results, so it is in the log header)
    ray_storage: str | None = None         # Tune checkpoints (default out/ray; shared storage on a cluster)
    dnas_sweep: str | None = None          # dnas: a grid over its hyperparameters, e.g. "lr_theta=0.02,0.1 lam=0.5,2"
    constraints: tuple = ()                # several (device, unit, target) at once (nas.search.multi.Constraint)
    objective: str = "accuracy"            # accuracy | pareto | pareto-all (nsga2; docs/optuna.md)
    storage: str | None = None             # an optuna RDB URL: every trial also as an optuna trial
    study_name: str | None = None          # default nas-SPACE-STRATEGY-seedN


@dataclass
class Prepared:
    config: SearchConfig
    space: Space
    table: LatencyTable
    table_info: dict
    pricer: SpacePricer
    fastest_ms: float
    slowest_ms: float = float("inf")
    estimator: object | None = None        # built in prepare when building it can refuse (benchmark)
    initial: list[tuple[int, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    multi: object | None = None            # nas.search.multi.MultiPricer when several pairs are searched at once


def prepare(cfg: SearchConfig) -> Prepared:
    """Everything that can be refused, refused before any work."""
    check_config(cfg)
    if cfg.strategy not in STRATEGIES and cfg.strategy not in DIFFERENTIABLE:
        raise NasError(f"unknown --strategy {cfg.strategy!r}; choose one of "
                       f"{', '.join((*STRATEGIES, *DIFFERENTIABLE))}")
    if cfg.accuracy not in ESTIMATORS:
        raise NasError(f"unknown --accuracy {cfg.accuracy!r}; choose one of {', '.join(ESTIMATORS)}")
    _check_backend(cfg)
    if cfg.dnas_sweep:
        if cfg.strategy not in DIFFERENTIABLE:
            raise NasError("--dnas-sweep needs --strategy dnas")
        from nas.search.dnas.sweep import parse_sweep
        parse_sweep(cfg.dnas_sweep)
    if cfg.trials < 1 or not cfg.target_ms > 0:
        raise NasError(f"need --trials >= 1 and a positive --target-ms, got {cfg.trials}, {cfg.target_ms}")
    if cfg.data is not None:
        check_image_folder(cfg.data)
    if cfg.bench_seed is not None and cfg.accuracy != "benchmark":
        raise NasError("--bench-seed needs --accuracy benchmark")
    space = load_space(cfg.space)
    estimator = _benchmark_estimator(cfg, space) if cfg.accuracy == "benchmark" else None
    _check_optuna_options(cfg, space)
    table, pricer, multi = open_pricer(cfg, space)
    fastest = pricer.fastest_ms()
    if fastest > cfg.target_ms:
        raise NasError(f"target {cfg.target_ms:g} ms is infeasible: the fastest network of space {space.name!r} "
                       f"takes {fastest:.3f} ms on {table.source_name} ({table.summary()}); raise --target-ms to "
                       f"at least {fastest:.3f}")
    slowest = pricer.slowest_ms()
    initial, notes = [], non_binding_notes(cfg, space, pricer, multi)
    from nas.profiling.staleness import quick_check  # a measured local table: re-time a few networks (seconds)
    stale = quick_check(table)
    if stale:
        notes.append(f"warning: {stale}")
    for name in cfg.seed_from:
        choices = space.encode(zoo.get(name).spec)
        if estimator is not None:
            choices = estimator.choices_of(zoo.get(name).spec)   # refuses a network the benchmark lacks
        if choices is None:
            notes.append(f"--seed-from {name}: space {space.name!r} cannot express it; not seeded")
        else:
            initial.append(choices)
    info = {"path": portable_path(table.path), "sha256": file_sha256(table.path) if table.path else None, "source": table.method, "device": table.device,
            "unit": table.unit, "runtime": table.runtime, "summary": table.summary()}
    return Prepared(cfg, space, table, info, pricer, fastest, slowest, estimator, initial, notes, multi)


def _benchmark_estimator(cfg: SearchConfig, space: Space) -> BenchmarkEstimator:
    if cfg.strategy in DIFFERENTIABLE:
        raise NasError("--accuracy benchmark scores the candidates of evolution, rl or random; --strategy dnas "
                       "trains its own supernet")
    return BenchmarkEstimator.for_search(space, seed=cfg.bench_seed)


def _check_optuna_options(cfg: SearchConfig, space: Space) -> None:
    """--objective, --storage and several pairs: refused before any work."""
    from nas.search.optuna_storage import check_storage, default_study_name
    if cfg.objective not in ("accuracy", "pareto", "pareto-all"):
        raise NasError(f"unknown --objective {cfg.objective!r}; choose accuracy, pareto or pareto-all")
    if cfg.objective != "accuracy" and cfg.strategy != "nsga2":
        raise NasError(f"--objective {cfg.objective} needs --strategy nsga2 (got {cfg.strategy})")
    if cfg.storage:
        check_storage(cfg.storage, cfg.study_name or default_study_name(space.name, cfg.strategy, cfg.seed),
                      resume=cfg.resume)
    if cfg.constraints and (cfg.table or cfg.strategy in DIFFERENTIABLE):
        raise NasError("several --device/--unit pairs use the shipped tables and an ask/tell strategy: "
                       "drop --table, and use evolution, rl, random, nsga2 or tpe")


def _check_backend(cfg: SearchConfig) -> None:
    if cfg.backend not in BACKENDS:
        raise NasError(f"unknown --backend {cfg.backend!r}; choose one of {', '.join(BACKENDS)}")
    if cfg.backend == "local":
        if cfg.early_stop != "none" or cfg.ray_address:
            raise NasError("--early-stop and --ray-address need --backend ray")
        return
    if cfg.strategy in DIFFERENTIABLE:
        if not cfg.dnas_sweep:
            raise NasError("--strategy dnas trains one supernet: with --backend ray give --dnas-sweep (a grid "
                           "of dnas settings, one Ray trial each), or run it locally (--device-torch cuda)")
        if cfg.early_stop != "none":
            raise NasError("--early-stop asha applies to trained candidates, not to a --dnas-sweep")
    elif cfg.accuracy != "train":
        raise NasError(f"--backend ray trains candidates as Ray Tune trials: it needs --accuracy train "
                       f"(got --accuracy {cfg.accuracy})")
    if cfg.workers < 1 or cfg.gpus_per_trial < 0:
        raise NasError(f"need --workers >= 1 and --gpus-per-trial >= 0, got {cfg.workers}, {cfg.gpus_per_trial}")
    if cfg.early_stop not in ("none", "asha"):
        raise NasError(f"unknown --early-stop {cfg.early_stop!r}; choose none or asha")
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        raise NasError("--backend ray needs Ray Tune: pip install 'ray[tune]'") from None


def make_backend(cfg: SearchConfig):
    if cfg.backend == "local":
        return LocalBackend()
    from nas.search.backends.ray_tune import RayBackend
    return RayBackend(out=cfg.out, address=cfg.ray_address, workers=cfg.workers, gpus_per_trial=cfg.gpus_per_trial,
                      early_stop=cfg.early_stop, storage=cfg.ray_storage, resume=cfg.resume)


_REFERENCES: dict[tuple, ProxyEstimator] = {}


def proxy_estimator(space: Space, resolution: int = 64, batch: int = 16) -> ProxyEstimator:
    """The ``proxy`` estimator calibrated on the space's fixed reference sample (shared within a process)."""
    key = (space.name, str(space.decode(space.sample(np.random.default_rng(0)))), resolution, batch)
    if key not in _REFERENCES:   # calibration is deterministic: share it within a process
        rng = np.random.default_rng(REFERENCE_SEED)
        ref = [space.decode(c) for c in space.sample(rng, REFERENCE_SIZE)]
        _REFERENCES[key] = ProxyEstimator(reference=ref, resolution=resolution, batch=batch)
    return _REFERENCES[key]


def train_estimator(data: str | None, resolution: int, epochs: int) -> TrainEstimator:
    dataset = load_image_folder(data, resolution) if data else load_digits(resolution)
    return TrainEstimator(data=dataset, epochs=epochs, seed=0)


def make_estimator(prep: Prepared):
    cfg, space = prep.config, prep.space
    if prep.estimator is not None:
        return prep.estimator
    if cfg.accuracy in ZEROSHOT:
        return ScoreEstimator(cfg.accuracy)
    if cfg.accuracy == "proxy":
        return proxy_estimator(space, cfg.proxy_resolution, cfg.proxy_batch)
    train = train_estimator(cfg.data, cfg.train_resolution, cfg.train_epochs)
    if cfg.accuracy == "train":
        return train
    return PredictorEstimator(base=train, cardinalities=space.cardinalities)


def header(prep: Prepared, estimator) -> dict:
    cfg = prep.config
    return {"space": prep.space.name, "strategy": cfg.strategy, "seed": cfg.seed, "target_ms": cfg.target_ms,
            "batch_size": cfg.batch_size, "table_sha256": prep.table_info["sha256"], "accuracy": cfg.accuracy,
            "estimator": estimator.settings(), "initial": [list(c) for c in prep.initial],
            "early_stop": cfg.early_stop} | _optuna_header(prep)


def _optuna_header(prep: Prepared) -> dict:
    """Settings added by several pairs and --objective (absent otherwise, so older logs still resume)."""
    cfg, out = prep.config, {}
    if prep.multi is not None:
        from nas.search.multi import table_info
        out["constraints"] = [[c.device, c.unit, c.target_ms, table_info(t)["sha256"]]
                              for c, t in zip(prep.multi.constraints, prep.multi.tables)]
    if cfg.objective != "accuracy":
        out["objective"] = cfg.objective
    return out


def baselines(prep: Prepared, estimator, notes: list[str]) -> list[report.Baseline]:
    base = getattr(estimator, "base", estimator)
    if base.kind == "benchmark":
        notes.append(f"baselines skipped: the article's models are not networks of space {prep.space.name!r}, "
                     f"so its benchmark cannot score them")
        return []
    out = []
    for name in zoo.names():
        spec = zoo.get(name).spec
        try:
            lat = price_net(spec, prep.table).total_ms
        except MissingEntry as e:
            notes.append(f"baseline {name} skipped: the table cannot price it ({e.key})")
            continue
        try:
            est = base.estimate(spec, None)
        except Exception as e:  # noqa: BLE001 -- a baseline that cannot be scored is noted, not fatal
            notes.append(f"baseline {name} skipped: {base.kind} estimate failed ({type(e).__name__}: {e})")
            continue
        out.append(report.Baseline(name, lat, est.accuracy, est.kind))
    return out


def search(prep: Prepared, *, on_progress: Callable[[int], None] | None = None,
           on_stage: Callable[[str], None] | None = None) -> tuple[list[Trial], object, list[str]]:
    """The search loop with its trial log in ``out``: (trials, estimator, notes). ``execute`` adds the files;
    experiments that run many searches call this to measure exactly what ``nas search`` runs (each in a folder
    of its own: ``execute`` holds ``out``'s lock, this does not)."""
    cfg, space, stage = prep.config, prep.space, on_stage or (lambda s: None)
    stage("preparing the accuracy estimator")   # a reference sample (proxy), a predictor, data (train); counts: nothing
    estimator = make_estimator(prep)
    # A lookup estimator makes trials cheaper than an fsync: group the log's fsyncs (nas.search.storage).
    log = TrialLog(cfg.out, sync_every_s=LOOKUP_SYNC_S if getattr(estimator, "lookup", False) else 0.0)
    stored = log.open(header(prep, estimator), resume=cfg.resume)
    notes = list(prep.notes)
    targets = prep.multi.target_map if prep.multi is not None else {"latency_ms": cfg.target_ms}
    record = log.append
    if cfg.storage:
        from nas.search.optuna_storage import open_recorder
        stored, record = open_recorder(prep, targets, header(prep, estimator), log, stored)
    strategy = make_strategy(cfg.strategy, cardinalities=space.cardinalities, seed=cfg.seed,
                             target_ms=cfg.target_ms, initial=prep.initial, targets=targets,
                             objective=cfg.objective)
    backend = make_backend(cfg)
    evaluator = Evaluator(space=space, pricer=prep.pricer, estimator=estimator, target_ms=cfg.target_ms,
                          backend=backend)
    stage((f"searching ({len(stored)} trials stored)" if stored else "searching")
          + (f" on Ray ({cfg.ray_address or 'local'}, {cfg.workers} workers)" if cfg.backend == "ray" else ""))
    try:
        trials = run(strategy, evaluator, trials=cfg.trials, batch_size=cfg.batch_size, stored=stored,
                     on_trial=record, on_progress=on_progress, source=str(log.path))
    finally:
        log.close()
        backend.close()
    return trials, estimator, notes + [f"failed: {f}" for f in evaluator.failures[:20]]


def execute(prep: Prepared, *, on_progress: Callable[[int], None] | None = None,
            on_stage: Callable[[str], None] | None = None) -> dict:
    """Run the search and write every result file, holding ``out``'s lock (one writer); returns the summary."""
    with lock_folder(prep.config.out, f"search folder {prep.config.out}"):
        return _execute(prep, on_progress=on_progress, on_stage=on_stage)


def _execute(prep: Prepared, *, on_progress: Callable[[int], None] | None = None,
             on_stage: Callable[[str], None] | None = None) -> dict:
    cfg, space, stage = prep.config, prep.space, on_stage or (lambda s: None)
    out = Path(cfg.out)
    t0 = time.perf_counter()
    trials, estimator, notes = search(prep, on_progress=on_progress, on_stage=on_stage)
    best = report.best_trial(trials)
    front = report.pareto(trials)
    stage("scoring the article's models on the same table")
    base = baselines(prep, estimator, notes) if cfg.baselines else []
    summary = {
        "space": space.name, "strategy": cfg.strategy, "device": cfg.device, "unit": cfg.unit,
        "table": prep.table_info, "target_ms": cfg.target_ms, "fastest_ms": round(prep.fastest_ms, 6),
        "slowest_ms": round(prep.slowest_ms, 6), "target_binds": prep.slowest_ms > cfg.target_ms,
        "seed": cfg.seed, "trials": len(trials), "accuracy": cfg.accuracy,
        "accuracy_metric": report.metric(estimator),
        "estimator": {"name": cfg.accuracy, "kind": estimator.kind, "validation": validation(cfg.accuracy)},
        "backend": {"name": cfg.backend} | ({"address": cfg.ray_address or "local", "workers": cfg.workers,
                                             "gpus_per_trial": cfg.gpus_per_trial, "early_stop": cfg.early_stop}
                                            if cfg.backend == "ray" else {}),
        "status_counts": {s: sum(t.result.status.value == s for t in trials) for s in ("OK", "INFEASIBLE", "FAILED")},
        "best": None if best is None else {
            "arch": best.arch, "latency_ms": round(best.result.latency_ms, 6),
            "accuracy": round(best.result.accuracy, 6), "accuracy_kind": best.accuracy_kind,
            "trial": best.index, "choices": list(best.result.choices)},
        "pareto": [report.point(t) for t in front],
        "baselines": [asdict(b) for b in base],
        "notes": notes,
    }
    if prep.multi is not None:
        from nas.search.multi import summarize, write_plots
        summary |= summarize(prep.multi, trials, best)
        write_plots(out, prep.multi, trials, f"{space.name} / {cfg.strategy}")
    if cfg.storage:
        from nas.search.optuna_storage import default_study_name
        summary["storage"] = {"url": cfg.storage,
                              "study_name": cfg.study_name or default_study_name(space.name, cfg.strategy, cfg.seed)}
    write_atomic(out / "trials.csv", report.trials_csv(trials))
    title = f"{space.name} / {cfg.strategy} on {cfg.device}/{cfg.unit} ({prep.table.method}), target {cfg.target_ms:g} ms"
    write_atomic(out / "pareto.png", report.plot_png(trials, base, cfg.target_ms, title, summary["accuracy_metric"]))
    if best is not None:
        net = space.decode(best.result.choices, name=f"{space.name}_best")
        # how far to trust the best's latency: where it goes beyond the table's calibration (nas.latency.trust)
        summary["best"]["extrapolation"] = flag_chosen(net, prep.table, summary["notes"])
        write_atomic(out / "best.yaml", dump_net(net, {"latency_ms": summary["best"]["latency_ms"],
                                                       "accuracy": summary["best"]["accuracy"],
                                                       "accuracy_kind": best.accuracy_kind}))
        if cfg.export:
            stage("exporting best.mlpackage")
            from nas.export import export_mlpackage
            export_mlpackage(net, out / "best.mlpackage")
            summary["mlpackage"] = "best.mlpackage"
    else:
        summary["notes"].append("no feasible candidate was found: raise --target-ms or the budget")
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    report.write_json(out / "summary.json", summary)
    return summary

