"""Everything that can be refused, refused before any work: ``prepare`` turns settings into a ``Prepared``.

It loads the space and table and refuses what cannot work -- a table for
another device or unit, a target below the fastest network of the space, a
missing or empty ``--data`` folder, an unknown ``--seed-from`` model, a
``--accuracy benchmark`` on a space or network its benchmark does not hold, a
backend, objective or storage that does not fit -- in milliseconds, before the
output folder is touched. It also notes a target that does not bind (every
network of the space within it; per pair when there are several:
``nas.search.targets``) and a stale measured table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nas import zoo
from nas.errors import NasError
from nas.compress import COMPRESSIONS
from nas.latency import SpacePricer
from nas.latency.table import LatencyTable
from nas.search.accuracy import ESTIMATORS, BenchmarkEstimator
from nas.search.accuracy.data import check_image_folder
from nas.search.backends import BACKENDS
from nas.search.backends.ray_places import check_ray_address, check_ray_storage
from nas.search.multi import table_info
from nas.search.checks import RESOLUTION, check_config
from nas.search.config import DIFFERENTIABLE, SearchConfig
from nas.search.needs import TRAINED, check_needs
from nas.search.strategies import STRATEGIES
from nas.search.targets import non_binding_notes, open_pricer, weights_notes
from nas.spaces import Space, load_space
from nas.spaces.sizes import shape_error_at, smallest_square_side


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
    export_tables: dict | None = None      # best.mlpackage's tables per unit (find_tables); None: an unknown device


def prepare(cfg: SearchConfig) -> Prepared:
    """Everything that can be refused, refused before any work."""
    check_config(cfg)
    if cfg.strategy not in STRATEGIES and cfg.strategy not in DIFFERENTIABLE:
        raise NasError(f"unknown --strategy {cfg.strategy!r}; choose one of "
                       f"{', '.join((*STRATEGIES, *DIFFERENTIABLE))}")
    if cfg.accuracy not in ESTIMATORS:
        raise NasError(f"unknown --accuracy {cfg.accuracy!r}; choose one of {', '.join(ESTIMATORS)}")
    _check_backend(cfg)
    if cfg.compress is not None and cfg.compress not in COMPRESSIONS:
        raise NasError(f"unknown --compress {cfg.compress!r}; choose one of {', '.join(COMPRESSIONS)}")
    if cfg.objective not in ("accuracy", "pareto", "pareto-all"):
        raise NasError(f"unknown --objective {cfg.objective!r}; choose accuracy, pareto or pareto-all")
    check_needs(cfg)                       # settings that need another one (nas.search.needs, shared with the CLI)
    _check_ray(cfg)
    if cfg.dnas_sweep:
        from nas.search.dnas.sweep import parse_sweep
        parse_sweep(cfg.dnas_sweep)
    if cfg.trials < 1 or not cfg.target_ms > 0:
        raise NasError(f"need --trials >= 1 and a positive --target-ms, got {cfg.trials}, {cfg.target_ms}")
    if cfg.data is not None:
        check_image_folder(cfg.data)
    space = load_space(cfg.space)
    if cfg.strategy in DIFFERENTIABLE or cfg.accuracy in TRAINED:
        _check_train_resolution(cfg, space)
    elif cfg.accuracy == "proxy":
        _check_proxy_resolution(cfg, space)
    estimator = BenchmarkEstimator.for_search(space, seed=cfg.bench_seed) if cfg.accuracy == "benchmark" else None
    _check_optuna_options(cfg, space)
    table, pricer, multi = open_pricer(cfg, space)
    fastest = pricer.fastest_ms()
    if fastest > cfg.target_ms:
        raise NasError(f"target {cfg.target_ms:g} ms is infeasible: the fastest network of space {space.name!r} "
                       f"takes {fastest:.3f} ms on {table.source_name} ({table.summary()}); raise --target-ms to "
                       f"at least {fastest:.3f}")
    slowest = pricer.slowest_ms()
    export_tables = _export_tables(cfg) if cfg.export else None
    initial, notes = [], weights_notes(cfg, table, multi) + non_binding_notes(cfg, space, pricer, multi)
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
    return Prepared(cfg, space, table, table_info(table), pricer, fastest, slowest, estimator, initial, notes, multi,
                    export_tables)


def _export_tables(cfg: SearchConfig) -> dict | None:
    """The tables best.mlpackage's metadata will quote (every unit of the device), found -- and a damaged one
    refused -- now: found only after the search, such a table ended the run without summary.json. None for a
    device outside the registry with no table: quoted from the exporter's default device then
    (``nas.search.results``), said in the notes."""
    from nas.export.metadata import UnknownDevice, find_tables
    try:
        return find_tables(cfg.device, cfg.compress)
    except UnknownDevice:
        return None


def _check_train_resolution(cfg: SearchConfig, space: Space) -> None:
    """Every network of the space must build at the --train-resolution it is trained at (dnas's supernet, the
    candidates of --accuracy train/predictor): else each would fail only once training had started."""
    r = cfg.train_resolution
    err = shape_error_at(space, (r, r))
    if err is None:
        return
    smallest = smallest_square_side(space, r + 1, max(RESOLUTION[1], r + 1))
    what = "the supernet" if cfg.strategy in DIFFERENTIABLE else "candidates"
    raise NasError(f"--train-resolution {r}: {what} of space {space.name!r} cannot be built at {r}x{r} ({err.layer}: {err.reason})"
                   + (f"; use --train-resolution {smallest} or more" if smallest else
                      f"; no resolution up to {RESOLUTION[1]} builds every network"))


def _check_proxy_resolution(cfg: SearchConfig, space: Space) -> None:
    """``proxy`` builds every candidate at its fixed reduced input (64x64): a space that downsamples past
    1x1 there would have every candidate fail."""
    r = cfg.proxy_resolution
    err = shape_error_at(space, (r, r))
    if err is not None:
        raise NasError(f"--accuracy proxy scores networks at a {r}x{r} input, where space {space.name!r} cannot "
                       f"be built ({err.layer}: {err.reason}); use another --accuracy (the training-free counts, "
                       f"e.g. the default, score each network at its own input size)")


def _check_optuna_options(cfg: SearchConfig, space: Space) -> None:
    """--storage and several pairs: refused before any work."""
    from nas.search.optuna_storage import check_storage, default_study_name
    if cfg.storage:
        check_storage(cfg.storage, cfg.study_name or default_study_name(space.name, cfg.strategy, cfg.seed),
                      resume=cfg.resume)
    if cfg.constraints and (cfg.table or cfg.strategy in DIFFERENTIABLE):
        raise NasError("several --device/--unit pairs use the shipped tables and an ask/tell strategy: "
                       "drop --table, and use evolution, rl, random, nsga2 or tpe")


def _check_backend(cfg: SearchConfig) -> None:
    """The names; what each backend needs is in ``nas.search.needs`` (checked next)."""
    if cfg.backend not in BACKENDS:
        raise NasError(f"unknown --backend {cfg.backend!r}; choose one of {', '.join(BACKENDS)}")
    if cfg.early_stop not in ("none", "asha"):
        raise NasError(f"unknown --early-stop {cfg.early_stop!r}; choose none or asha")


def _check_ray(cfg: SearchConfig) -> None:
    """--ray-address and --ray-storage as Ray reads them (syntax only), then Ray Tune installed."""
    if cfg.backend != "ray":
        return
    if cfg.ray_address is not None:
        check_ray_address(cfg.ray_address)
    if cfg.ray_storage is not None:
        check_ray_storage(cfg.ray_storage)
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        raise NasError("--backend ray needs Ray Tune: pip install 'ray[tune]'") from None
