"""One search from settings to files: ``prepare`` (checks, before any work), ``search`` (the loop), ``execute``.

``prepare`` (``nas.search.prepare``) refuses in milliseconds what cannot work.
``search`` builds the estimator and strategy (``nas.search.build``) and runs the
ask/tell loop with its trial log in ``out``; ``execute`` runs it holding
``out``'s lock and writes ``summary.json``, ``best.yaml``, ``trials.csv``,
``pareto.png`` and ``best.mlpackage`` (``nas.search.results``). The settings
and ``prepare`` are importable from here, the module callers know.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from nas.fsutil import lock_folder
from nas.search import report
from nas.search.accuracy.validation import validation
from nas.search.build import make_backend, make_estimator
from nas.search.config import BUDGETS, SearchConfig
from nas.search.evaluate import Evaluator
from nas.search.prepare import Prepared, prepare
from nas.search.results import baselines, best_entry, summary_head, write_results
from nas.search.run import run
from nas.search.storage import Trial, TrialLog
from nas.search.strategies import make_strategy

__all__ = ["BUDGETS", "SearchConfig", "Prepared", "prepare", "search", "execute", "header"]

LOOKUP_SYNC_S = 0.5                                      # trial-log fsync interval of a lookup search


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
    summary = summary_head(prep, cfg.strategy, len(trials)) | {
        "accuracy": cfg.accuracy,
        "accuracy_metric": report.metric(estimator),
        "estimator": {"name": cfg.accuracy, "kind": estimator.kind, "validation": validation(cfg.accuracy)},
        "backend": {"name": cfg.backend} | ({"address": cfg.ray_address or "local", "workers": cfg.workers,
                                             "gpus_per_trial": cfg.gpus_per_trial, "early_stop": cfg.early_stop}
                                            if cfg.backend == "ray" else {}),
        "status_counts": {s: sum(t.result.status.value == s for t in trials) for s in ("OK", "INFEASIBLE", "FAILED")},
        "best": best_entry(best),
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
    if best is None:
        summary["notes"].append("no feasible candidate was found: raise --target-ms or the budget")
    return write_results(prep, summary, trials, best, t0=t0, stage=stage, base=base,
                         metric=summary["accuracy_metric"])
