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

from nas.arch.yaml_io import dump_net
from nas.errors import NasError
from nas.fsutil import write_atomic
from nas.search import report
from nas.search.accuracy.data import load_digits, load_image_folder
from nas.search.dnas.trainer import DnasConfig, DnasSearch
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
    cfg, space, stage = prep.config, prep.space, on_stage or (lambda s: None)
    out = Path(cfg.out)
    ckpt = out / "dnas_checkpoint.pt"
    if ckpt.exists() and not cfg.resume:
        raise NasError(f"{out} holds a dnas checkpoint: pass --resume to continue it, or another --out")
    t0 = time.perf_counter()
    data = load_image_folder(cfg.data, cfg.train_resolution) if cfg.data else load_digits(cfg.train_resolution)
    search = DnasSearch(space, prep.pricer, data, config_for(prep, budget, loss=loss, device=device),
                        checkpoint=ckpt)
    if cfg.resume and search.resume():
        stage(f"resumed after epoch {search.epoch}")
    stage(f"training the supernet ({search.cfg.epochs} epochs, {search.cfg.warmup_epochs} warm-up, "
          f"{data.name} at {cfg.train_resolution}px)")
    done = search.epoch

    def progress(epoch: int, ms: float) -> None:
        stage(f"epoch {epoch}: expected latency {ms:.3f} ms under softmax(theta)")
        if on_progress:
            on_progress(1)
    if on_progress and done:
        on_progress(done)
    result = search.run(progress)
    kind = f"dnas-finetuned-path:{data.name}@{cfg.train_resolution}px"
    trials = []
    for i, c in enumerate(result.candidates):
        ok = c.latency_ms <= cfg.target_ms
        metrics = {"latency_ms": c.latency_ms} | ({"accuracy": c.accuracy} if ok else {})
        trials.append(Trial(i, Result(tuple(c.choices), Status.OK if ok else Status.INFEASIBLE, metrics),
                            str(space.decode(c.choices)), kind if ok else None, 0.0))
    best = report.best_trial(trials)
    notes = list(prep.notes)
    if best is None:
        notes.append("no candidate within the target: tighten --target-ms less, or use a larger budget")
    summary = {
        "space": space.name, "strategy": "dnas", "device": cfg.device, "unit": cfg.unit,
        "table": prep.table_info, "target_ms": cfg.target_ms, "fastest_ms": round(prep.fastest_ms, 6),
        "seed": cfg.seed, "trials": len(trials), "accuracy": kind, "dnas": {
            "loss": loss, "epochs": search.cfg.epochs, "warmup_epochs": search.cfg.warmup_epochs,
            "expected_latency_ms": [round(v, 6) for v in result.expected_latency_ms],
            "theta_softmax": [[round(p, 5) for p in row] for row in result.theta]},
        "best": None if best is None else {
            "arch": best.arch, "latency_ms": round(best.result.latency_ms, 6),
            "accuracy": round(best.result.accuracy, 6), "accuracy_kind": kind, "trial": best.index,
            "choices": list(best.result.choices), "source": result.candidates[best.index].source},
        "pareto": [report.point(t) for t in report.pareto(trials)],
        "notes": notes,
    }
    write_atomic(out / "trials.csv", report.trials_csv(trials))
    title = f"{space.name} / dnas on {cfg.device}/{cfg.unit} ({prep.table.method}), target {cfg.target_ms:g} ms"
    write_atomic(out / "pareto.png", report.plot_png(trials, [], cfg.target_ms, title))
    if best is not None:
        net = space.decode(best.result.choices, name=f"{space.name}_best")
        write_atomic(out / "best.yaml", dump_net(net, {"latency_ms": summary["best"]["latency_ms"],
                                                       "accuracy": summary["best"]["accuracy"],
                                                       "accuracy_kind": kind}))
        if cfg.export:
            stage("exporting best.mlpackage")
            from nas.export import export_mlpackage
            export_mlpackage(net, out / "best.mlpackage")
            summary["mlpackage"] = "best.mlpackage"
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    report.write_json(out / "summary.json", summary)
    return summary
