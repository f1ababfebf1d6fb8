"""The settings of one search (``SearchConfig``): one place that every search module reads them from.

``nas search`` fills it from its flags, experiments and benchmarks fill it in
code; ``nas.search.prepare`` checks it before any work. The budgets and the
strategies that are trainers rather than ask/tell loops are named here because
both the CLI and the checks need them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.search.accuracy import DEFAULT_ESTIMATOR

BUDGETS = {"small": 96, "medium": 144, "large": 480}   # evaluated candidates
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
    compress: str | None = None            # weights priced and best.mlpackage's (nas.compress.COMPRESSIONS)
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
