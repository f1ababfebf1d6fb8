"""``nas search``: find a backbone under a latency target on a device's table."""

from __future__ import annotations

from nas.cli.latency_cmd import add_compress_arg, add_runtime_arg
from nas.cli.progress import progress, say
from nas.errors import NasError
from nas.search.accuracy import DEFAULT_ESTIMATOR, ESTIMATORS
from nas.search.accuracy.validation import describe
from nas.search.session import BUDGETS, SearchConfig, execute, prepare


def register(sub) -> None:
    p = sub.add_parser("search", help="search a space for the best network under a latency target",
                       description="Search a space for the most accurate network (by the chosen estimator) "
                       "whose latency, priced on the device's table, is within --target-ms. Budgets: "
                       + ", ".join(f"{k} = {v} candidates" for k, v in BUDGETS.items()) + ".")
    p.add_argument("--space", required=True, help="shipped space name (nas spaces list) or a space YAML")
    p.add_argument("--target-ms", required=True, help="latency target in milliseconds; several devices/units: "
                   "a comma list pairing up with --device and --unit (one value applies to all)")
    p.add_argument("--device", default="iphone11", help="device of the latency table (default iphone11); a comma "
                   "list searches one network for several (device, unit) pairs, e.g. iphone11,iphonexs")
    p.add_argument("--unit", default="ane",
                   help="compute unit of the table (default ane); or a comma list, e.g. ane,gpu")
    p.add_argument("--table", help="latency table YAML (default: the shipped/own table for --device/--unit)")
    p.add_argument("--allow-other-device", action="store_true",
                   help="use a --table made for another device or unit anyway")
    add_runtime_arg(p)
    p.add_argument("--strategy", default="evolution", choices=("evolution", "rl", "random", "nsga2", "tpe", "dnas"))
    p.add_argument("--budget", choices=tuple(BUDGETS), default="medium",
                   help="number of evaluated candidates (default medium)")
    p.add_argument("--trials", type=int, help="evaluated candidates (instead of --budget; not both)")
    p.add_argument("--accuracy", default=DEFAULT_ESTIMATOR, choices=ESTIMATORS,
                   help=f"{DEFAULT_ESTIMATOR} (default): training-free, at each network's own input size; "
                        "params, macs, naswot, ...: one training-free score; proxy: the older 64x64 ensemble; "
                        "train: short training on --data (or the digits demo); predictor: ChamNet's GP screen "
                        "over trained candidates; benchmark: the trained accuracy a tabular benchmark recorded "
                        "(spaces that ship one: nasbench_macro) (docs/estimators.md)")
    p.add_argument("--bench-seed", type=int, help="--accuracy benchmark: one training seed's accuracy "
                   "(0, 1, 2 for NAS-Bench-Macro) instead of the mean over seeds")
    p.add_argument("--data", help="ImageFolder directory for --accuracy train/predictor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="search_out", help="output directory (default search_out)")
    p.add_argument("--no-export", action="store_true", help="do not write best.mlpackage")
    add_compress_arg(p, "price the search's networks with these weights and compress best.mlpackage's as "
                        "`nas export --compress` does")
    p.add_argument("--resume", action="store_true", help="continue the search stored in --out")
    p.add_argument("--seed-from", default=None, help="comma-separated zoo models to seed evolution with "
                   "(those the space can express), e.g. fbnet_a,fbnet_b,fbnet_c")
    p.add_argument("--no-baselines", action="store_true", help="skip scoring the article's models")
    p.add_argument("--dnas-loss", default="absolute", choices=("absolute", "fbnet"),
                   help="dnas: 'absolute' seeks the target (CE + |LAT/T - 1|, TuNAS); 'fbnet' is FBNet's "
                        "CE * 0.2 * log(LAT)^0.6")
    p.add_argument("--device-torch", default="cpu", help="dnas: torch device for the supernet (cpu, cuda)")
    p.add_argument("--dnas-sweep", help="dnas: a grid of its hyperparameters, one DNAS run each (Ray trials with "
                   "--backend ray), e.g. 'lr_theta=0.02,0.1 lam=0.5,2'; the best network over all runs wins")
    p.add_argument("--batch-size", type=int, default=8,
                   help="candidates proposed at once (default 8); with --backend ray, the most that train at once")
    p.add_argument("--train-epochs", type=int, default=3, help="--accuracy train: epochs per candidate (default 3)")
    p.add_argument("--train-resolution", type=int, default=32,
                   help="--accuracy train and dnas: image size for training (default 32)")
    opt = p.add_argument_group("optuna (docs/optuna.md)")
    opt.add_argument("--objective", default="accuracy", choices=("accuracy", "pareto", "pareto-all"),
                     help="accuracy: best within every target (default); with nsga2, pareto: accuracy vs the "
                          "worst-case latency/target ratio; pareto-all: accuracy vs every latency")
    opt.add_argument("--storage", help="an optuna RDB URL, e.g. sqlite:///search.db: every trial also as an optuna "
                     "trial (optuna.load_study, optuna-dashboard); --resume reads it back")
    opt.add_argument("--study-name", help="study name in --storage (default nas-SPACE-STRATEGY-seedN)")
    ray = p.add_argument_group("distributed evaluation (--accuracy train)")
    ray.add_argument("--backend", default="local", choices=("local", "ray"),
                     help="local: train candidates one after another here (default); ray: as Ray Tune trials")
    ray.add_argument("--ray-address", help="join a running Ray cluster: 'auto' (on a cluster node) or HOST:PORT; "
                     "default: start a local Ray with --workers CPUs")
    ray.add_argument("--workers", type=int, default=2, help="Ray trials at once (default 2)")
    ray.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs per Ray trial (default 0: CPU)")
    ray.add_argument("--early-stop", default="none", choices=("none", "asha"),
                     help="asha: stop candidates that trail their batch at the same epoch (saves time; their "
                          "accuracy is then a partial-training one and results differ from --backend local)")
    ray.add_argument("--ray-storage", help="where Tune keeps checkpoints (default OUT/ray; on a multi-node "
                     "cluster a folder every node shares, or a cloud URI)")
    p.set_defaults(func=cmd_search)


def check_torch_device(name: str, here: bool = True) -> None:
    """``--device-torch``: a device torch knows (and, ``here``, this machine has), before the output folder is
    made. Ray trials may run on other machines: there only the name is checked."""
    import torch
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as e:
        raise NasError(f"--device-torch {name[:60]!r}: not a torch device ({str(e)[:80]}); e.g. cpu, cuda, cuda:1, "
                       f"mps") from None
    count = {"cpu": 1, "cuda": torch.cuda.device_count(), "mps": int(torch.backends.mps.is_available())}
    if here and not (device.index or 0) < count.get(device.type, 0):
        raise NasError(f"--device-torch {name!r}: no such device on this machine")


def config_from_args(args) -> SearchConfig:
    """The search settings of parsed ``nas search`` arguments (also read by tests/test_docs_commands.py)."""
    from nas.search.multi import parse_constraints
    pairs = parse_constraints(args.device, args.unit, args.target_ms)
    return SearchConfig(
        space=args.space, target_ms=pairs[0].target_ms, out=args.out, device=pairs[0].device, unit=pairs[0].unit,
        table=args.table, allow_other_device=args.allow_other_device, runtime=args.runtime,
        strategy=args.strategy,
        trials=args.trials if args.trials is not None else BUDGETS[args.budget], accuracy=args.accuracy,
        data=args.data, seed=args.seed, export=not args.no_export, compress=args.compress, resume=args.resume,
        seed_from=tuple(s.strip() for s in (args.seed_from or "").split(",") if s.strip()),
        baselines=not args.no_baselines, batch_size=args.batch_size, train_epochs=args.train_epochs,
        train_resolution=args.train_resolution, bench_seed=args.bench_seed, backend=args.backend,
        ray_address=args.ray_address,
        workers=args.workers, gpus_per_trial=args.gpus_per_trial, early_stop=args.early_stop,
        ray_storage=args.ray_storage, dnas_sweep=args.dnas_sweep, constraints=tuple(pairs) if len(pairs) > 1 else (),
        objective=args.objective, storage=args.storage, study_name=args.study_name)


def cmd_search(args) -> int:
    if args.strategy == "dnas":
        check_torch_device(args.device_torch, here=args.backend == "local")
    cfg = config_from_args(args)
    prep = prepare(cfg)
    if args.runtime is None and not args.table:
        print(f"runtime {prep.table.runtime}: the regime `nas export` targets (--runtime to price another)")
    if cfg.strategy == "dnas":
        return _dnas(prep, args)
    print(f"space {prep.space.name}: {len(prep.space.decisions)} decisions; table {prep.table_info['summary']} "
          f"({prep.table.path}); networks from {prep.fastest_ms:.3f} to {prep.slowest_ms:.3f} ms, target "
          f"{cfg.target_ms:g} ms")
    if prep.multi is not None:
        for c, t, fastest in zip(prep.multi.constraints, prep.multi.tables, prep.multi.fastest()):
            print(f"  {c.pair}: target {c.target_ms:g} ms, fastest network {fastest:.3f} ms, table {t.summary()}")
    print(describe(cfg.accuracy))
    for note in prep.notes:
        print(f"note: {note}")
    bar = progress(total=cfg.trials, unit="cand", desc=f"{cfg.strategy}")
    try:
        summary = execute(prep, on_progress=bar.update, on_stage=say)
    finally:
        bar.close()
    for note in summary["notes"]:
        if note not in prep.notes:          # those were printed before the search
            print(f"note: {note}")
    best = summary["best"]
    counts = summary["status_counts"]
    print(f"{summary['trials']} candidates ({counts['OK']} within target, {counts['INFEASIBLE']} over, "
          f"{counts['FAILED']} failed) in {summary['wall_s']:.0f} s")
    for d in summary.get("devices", ()):
        if "best_latency_ms" in d:
            print(f"  best on {d['device']}/{d['unit']}: {d['best_latency_ms']:.3f} ms (target {d['target_ms']:g}, "
                  f"{d['table']['source']} table)")
    if "storage" in summary:
        print(f"study {summary['storage']['study_name']!r} in {summary['storage']['url']} "
              f"(optuna-dashboard {summary['storage']['url']})")
    return _print_best(summary, cfg.out, f"{summary['accuracy_metric']} [{best['accuracy_kind']}]" if best else "")


def _print_best(summary: dict, out: str, score: str) -> int:
    best = summary["best"]
    if best is None:
        print("no network within the target was found")
        return 1
    print(f"best: {best['arch']}\n  latency {best['latency_ms']:.3f} ms, {score} {best['accuracy']:.4f}\n"
          f"wrote {out}/summary.json, best.yaml, trials.csv, pareto.png"
          + (", best.mlpackage" if "mlpackage" in summary else ""))
    return 0


def _dnas(prep, args) -> int:
    from nas.search.dnas.session import BUDGETS as DNAS_BUDGETS, execute_dnas
    budget = args.budget
    epochs = DNAS_BUDGETS[budget][0]
    runs = 1
    if args.dnas_sweep:
        from nas.search.dnas.sweep import parse_sweep
        runs = len(parse_sweep(args.dnas_sweep))
    print(f"space {prep.space.name}: table {prep.table_info['summary']} ({prep.table.path}); fastest network "
          f"{prep.fastest_ms:.3f} ms, target {prep.config.target_ms:g} ms; dnas budget {budget}: {epochs} epochs"
          + (f" x {runs} settings ({prep.config.backend})" if runs > 1 else ""))
    for note in prep.notes:
        print(f"note: {note}")
    bar = progress(total=epochs * runs, unit="epoch", desc="dnas")
    try:
        summary = execute_dnas(prep, budget, loss=args.dnas_loss, device=args.device_torch,
                               on_progress=bar.update, on_stage=say)
    finally:
        bar.close()
    for note in summary["notes"]:
        if note not in prep.notes:          # those were printed before training
            print(f"note: {note}")
    for run in summary.get("sweep") or ():
        acc = "failed" if run["best_accuracy"] is None else \
            f"best {run['best_accuracy']:.4f} at {run['best_latency_ms']:.3f} ms"
        print(f"  run {' '.join(f'{k}={v:g}' for k, v in run['settings'].items())}: {acc}")
    kind = summary["best"]["accuracy_kind"] if summary["best"] else ""
    return _print_best(summary, prep.config.out, f"held-out accuracy ({kind})")
