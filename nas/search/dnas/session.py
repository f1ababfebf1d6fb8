"""``nas search --strategy dnas``: the differentiable search, writing the same --out layout.

The trainer (``trainer.DnasSearch``) needs data: ``--data`` (ImageFolder) or the
scikit-learn digits demo, at a reduced resolution for CPUs. Its final
candidates (arg-max path and samples of softmax(theta)) become the trials of
``trials.csv``; their accuracy is the held-out accuracy of each path with the
supernet's weights briefly fine-tuned on it (``accuracy_kind`` says so).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from nas.errors import NasError
from nas.fsutil import lock_folder
from nas.search import report
from nas.search.accuracy.data import load_digits, load_image_folder
from nas.search.dnas.sweep import parse_sweep, run_local, run_ray, settings_label
from nas.search.dnas.trainer import DnasConfig, DnasResult, DnasSearch
from nas.search.results import best_entry, summary_head, write_results
from nas.search.storage import Trial
from nas.search.strategies.base import Result, Status

# Epochs, warm-up epochs and final samples per budget (CPU-sized; see README).
BUDGETS = {"small": (6, 3, 4), "medium": (10, 4, 8), "large": (20, 6, 16)}


def config_for(prep, budget: str, *, loss: str = "absolute", device: str = "cpu") -> DnasConfig:
    epochs, warmup, samples = BUDGETS[budget]
    return DnasConfig(target_ms=prep.config.target_ms, epochs=epochs, warmup_epochs=warmup, samples=samples,
                      loss=loss, seed=prep.config.seed, device=device,
                      resolution=prep.config.train_resolution)


def execute_dnas(prep, budget: str, *, loss: str = "absolute", device: str = "cpu",
                 on_progress: Callable[[int], None] | None = None,
                 on_stage: Callable[[str], None] | None = None) -> dict:
    """Run the differentiable search holding ``out``'s lock (one writer); returns the summary."""
    with lock_folder(prep.config.out, f"search folder {prep.config.out}"):
        return _execute_dnas(prep, budget, loss=loss, device=device, on_progress=on_progress, on_stage=on_stage)


def _execute_dnas(prep, budget: str, *, loss: str = "absolute", device: str = "cpu",
                  on_progress: Callable[[int], None] | None = None,
                  on_stage: Callable[[str], None] | None = None) -> dict:
    cfg, space, stage = prep.config, prep.space, on_stage or (lambda s: None)
    out = Path(cfg.out)
    grid = parse_sweep(cfg.dnas_sweep) if cfg.dnas_sweep else None
    stored = out / ("dnas_runs.jsonl" if grid else "dnas_checkpoint.pt")
    if stored.exists() and not cfg.resume:
        raise NasError(f"{out} holds a dnas {'sweep' if grid else 'checkpoint'}: pass --resume to continue it, "
                       f"or another --out")
    t0 = time.perf_counter()
    data = load_image_folder(cfg.data, cfg.train_resolution) if cfg.data else load_digits(cfg.train_resolution)
    base = config_for(prep, budget, loss=loss, device=device)
    tick = (lambda: on_progress(1)) if on_progress else (lambda: None)
    stage(f"training the supernet ({base.epochs} epochs, {base.warmup_epochs} warm-up, "
          f"{data.name} at {cfg.train_resolution}px)" + (f", {len(grid)} settings" if grid else ""))
    failed: dict[int, str] = {}
    if grid is None:
        runs = [({}, _single(prep, base, data, out / "dnas_checkpoint.pt", stage, on_progress))]
    elif cfg.backend == "ray":
        results, failed = run_ray(space, prep.pricer, data, base, grid, out, resume=cfg.resume,
                                  address=cfg.ray_address, workers=cfg.workers, gpus_per_trial=cfg.gpus_per_trial,
                                  storage=cfg.ray_storage, on_epoch=tick)
        runs = list(zip(grid, results))
    else:
        runs = list(zip(grid, run_local(space, prep.pricer, data, base, grid, out, resume=cfg.resume,
                                        on_epoch=tick)))
    kind = f"dnas-finetuned-path:{data.name}@{cfg.train_resolution}px"
    trials, origin = [], []
    for r, (settings, result) in enumerate(runs):
        for c in (result.candidates if result else []):
            ok = c.latency_ms <= cfg.target_ms
            metrics = {"latency_ms": c.latency_ms} | ({"accuracy": c.accuracy} if ok else {})
            trials.append(Trial(len(trials), Result(tuple(c.choices), Status.OK if ok else Status.INFEASIBLE,
                                                    metrics), str(space.decode(c.choices)), kind if ok else None,
                                0.0))
            origin.append((r, c.source))
    best = report.best_trial(trials)
    notes = list(prep.notes) + [f"dnas run {settings_label(st)} failed on Ray: {failed.get(i, 'no result')}"
                                for i, (st, r) in enumerate(runs) if r is None]
    won = runs[origin[best.index][0]] if best is not None else next(((st, r) for st, r in runs if r), ({}, None))
    result = won[1]
    if best is None:
        notes.append("no candidate within the target: tighten --target-ms less, or use a larger budget")
    summary = summary_head(prep, "dnas", len(trials)) | {
        "accuracy": kind, "dnas": {
            "loss": loss, "epochs": base.epochs, "warmup_epochs": base.warmup_epochs, "settings": won[0],
            "expected_latency_ms": [round(v, 6) for v in result.expected_latency_ms] if result else [],
            "theta_softmax": [[round(p, 5) for p in row] for row in result.theta] if result else []},
        "sweep": None if grid is None else [
            {"settings": st, "backend": cfg.backend, "best_latency_ms": round(r.best.latency_ms, 6) if r else None,
             "best_accuracy": round(r.best.accuracy, 6) if r else None,
             "final_expected_ms": round(r.expected_latency_ms[-1], 6) if r else None} for st, r in runs],
        "best": None if best is None else best_entry(best) | {"source": origin[best.index][1]},
        "pareto": [report.point(t) for t in report.pareto(trials)],
        "notes": notes,
    }
    return write_results(prep, summary, trials, best, t0=t0, stage=stage)


def _single(prep, base: DnasConfig, data, ckpt: Path, stage, on_progress) -> DnasResult:
    """One DNAS run in this process, resumable from its checkpoint."""
    search = DnasSearch(prep.space, prep.pricer, data, base, checkpoint=ckpt)
    if prep.config.resume and search.resume():
        stage(f"resumed after epoch {search.epoch}")
    if on_progress and search.epoch:
        on_progress(search.epoch)

    def progress(epoch: int, ms: float) -> None:
        stage(f"epoch {epoch}: expected latency {ms:.3f} ms under softmax(theta)")
        if on_progress:
            on_progress(1)
    return search.run(progress)
