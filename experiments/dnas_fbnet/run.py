"""DNAS against evolution, RL and random search on the fbnet space: one target, one final recipe.

Every strategy searches the ``fbnet`` space under the same latency target on the
shipped ``iphone11``/``ane`` table. ``evolution``, ``rl`` and ``random`` propose
``--trials`` candidates each, scored by the ``train`` estimator (digits at 32x32,
``--epochs`` epochs, seed 0); ``dnas`` trains one supernet (``--dnas-budget``)
and scores its final candidates by fine-tuning each path on the supernet's
weights. Those search-time scores come from different recipes, so each
strategy's chosen network is then re-trained from scratch with one common recipe
(the ``train`` estimator with ``--final-epochs`` epochs, once per
``--final-seeds`` seed; the seed also picks the held-out split) and only that
score is compared. Writes ``results.json``, ``results.md``, ``comparison.png`` and ``provenance.json``.

Every search runs on one thread (``torch.set_num_threads(1)``) in its own
process, ``--jobs`` at a time. The work folder keeps every search and every
final training: a finished one is reused, an interrupted search resumed.

    nice -n 10 python experiments/dnas_fbnet/run.py --target-ms 0.8 --trials 48 --epochs 2 --final-epochs 4 \
        --final-seeds 0,1,2 --jobs 2

The target (0.8 ms) was chosen before the run by ``experiments/ray_asha``'s rule: the median of
1,000 uniformly drawn fbnet networks (``numpy.random.default_rng(0)``) priced on the default
iphone11/ane table, rounded to 0.1 ms (README). The work folder keeps each search's trial log
(``search_out/``; the dnas checkpoint is not committed), from which the figures can be re-derived.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import multiprocessing as mp
import os
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from nas.fsutil import write_atomic
from nas.provenance import write_provenance

HERE = Path(__file__).resolve().parent
STRATEGIES = ("dnas", "evolution", "rl", "random")
SPACE = "fbnet"


def _config(a: dict, strategy: str, out: Path, resume: bool):
    from nas.search.session import SearchConfig
    return SearchConfig(space=SPACE, target_ms=a["target_ms"], out=str(out), strategy=strategy,
                        trials=a["trials"], accuracy="train", seed=a["seed"], export=False, baselines=False,
                        resume=resume, train_epochs=a["epochs"], train_resolution=a["resolution"])


def search_job(strategy: str, work: str, a: dict) -> dict:
    """One strategy's search (in a worker process); returns its summary plus timings."""
    import torch
    from nas.search.session import execute, prepare
    torch.set_num_threads(1)
    out = Path(work) / strategy
    timing_path = out / "timing.json"
    if (out / "summary.json").exists() and timing_path.exists():
        return {"summary": json.loads((out / "summary.json").read_text()),
                "timing": json.loads(timing_path.read_text())}
    stamps: list[tuple[float, str]] = []
    t0, c0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()

    def stage(msg: str) -> None:
        stamps.append((round(time.perf_counter() - t0, 2), msg))
        print(f"[{strategy} {stamps[-1][0]:7.1f}s] {msg}", file=sys.stderr, flush=True)

    if strategy == "dnas":
        from nas.search.dnas.session import execute_dnas
        resume = (out / "dnas_checkpoint.pt").exists()
        summary = execute_dnas(prepare(_config(a, strategy, out, resume)), a["dnas_budget"], on_stage=stage)
    else:
        resume = (out / "trials.jsonl").exists()
        summary = execute(prepare(_config(a, strategy, out, resume)), on_stage=stage)
    timing = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2),
              "resumed": resume, "stages": stamps, "loadavg_1_5_15_before": [round(x, 2) for x in load0],
              "loadavg_1_5_15_after": [round(x, 2) for x in os.getloadavg()]}
    if strategy == "dnas":   # supernet training: from its start to the last epoch's message
        start = next((t for t, m in stamps if m.startswith("training the supernet")), None)
        end = [t for t, m in stamps if m.startswith("epoch ")]
        timing["supernet_s"] = round(end[-1] - start, 2) if start is not None and end else None
    write_atomic(timing_path, json.dumps(timing, indent=1) + "\n")
    return {"summary": summary, "timing": timing}


def final_job(choices: list[int], seed: int, work: str, a: dict) -> dict:
    """The common recipe: train ``choices`` from scratch with the ``train`` estimator at ``seed``."""
    from nas.search.accuracy.data import load_digits
    from nas.search.accuracy.train import TrainEstimator
    from nas.spaces import load_space
    key = hashlib.sha1(" ".join(map(str, choices)).encode()).hexdigest()[:12]
    path = Path(work) / "final" / f"{key}-seed{seed}-e{a['final_epochs']}-r{a['resolution']}.json"
    if path.exists():
        return json.loads(path.read_text())
    est = TrainEstimator(data=load_digits(a["resolution"]), epochs=a["final_epochs"], seed=seed)
    t0 = time.perf_counter()
    acc = est.accuracy(load_space(SPACE).decode(tuple(choices)))
    done = {"choices": list(choices), "seed": seed, "epochs": a["final_epochs"],
            "accuracy": acc, "wall_s": round(time.perf_counter() - t0, 2)}
    write_atomic(path, json.dumps(done) + "\n")
    print(f"[final {key} seed {seed}] accuracy {acc:.4f} in {done['wall_s']:.0f} s", file=sys.stderr,
          flush=True)
    return done


def chosen(out: Path, summary: dict) -> dict:
    """The strategy's pick: its best within the target, else (none within) its fastest candidate."""
    if summary["best"] is not None:
        b = summary["best"]
        return {"choices": b["choices"], "arch": b["arch"], "latency_ms": b["latency_ms"],
                "search_score": b["accuracy"], "score_kind": b["accuracy_kind"], "within_target": True}
    rows = list(csv.DictReader(io.StringIO((out / "trials.csv").read_text())))
    r = min(rows, key=lambda r: float(r["latency_ms"]))
    return {"choices": [int(v) for v in r["choices"].split()], "arch": r["arch"],
            "latency_ms": float(r["latency_ms"]), "search_score": None, "score_kind": None,
            "within_target": float(r["latency_ms"]) <= summary["target_ms"]}


def best_curve(out: Path) -> list[list[float]]:
    """``[cumulative evaluation seconds, best search score so far]`` per trial (nan before the first)."""
    best, spent, curve = float("nan"), 0.0, []
    for line in (out / "trials.jsonl").read_text().splitlines()[1:]:
        t = json.loads(line)
        spent += t["wall_s"]
        if t["status"] == "OK":
            best = t["metrics"]["accuracy"] if np.isnan(best) else max(best, t["metrics"]["accuracy"])
        curve.append([round(spent, 2), best])
    return curve


def collect(strategy: str, out: Path, job: dict, finals: list[dict]) -> dict:
    s, timing = job["summary"], job["timing"]
    accs = [f["accuracy"] for f in finals]
    r = {"search": {"wall_s": timing["wall_s"], "cpu_s": timing["cpu_s"], "resumed": timing["resumed"],
                    "proposed": s["trials"]},
         "pick": chosen(out, s),
         "final": {"seeds": [f["seed"] for f in finals], "accuracy": accs, "mean": float(np.mean(accs)),
                   "sd": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                   "train_s": [f["wall_s"] for f in finals]}}
    rows = list(csv.DictReader(io.StringIO((out / "trials.csv").read_text())))
    r["search"]["status_counts"] = {k: sum(row["status"] == k for row in rows) for k in ("OK", "INFEASIBLE", "FAILED")}
    r["search"]["distinct_archs"] = len({row["arch"] for row in rows})
    if strategy == "dnas":
        r["search"]["supernet_s"] = timing.get("supernet_s")
        r["search"]["dnas"] = {k: s["dnas"][k] for k in ("loss", "epochs", "warmup_epochs", "expected_latency_ms")}
        r["search"]["trained_networks"] = "one supernet; each final candidate fine-tuned on it"
        r["search"]["candidates"] = [{"latency_ms": float(row["latency_ms"]), "status": row["status"],
                                      "score": float(row["accuracy"]) if row["accuracy"] else None,
                                      "source": "argmax" if i == 0 else "sample"}   # the trainer's order
                                     for i, row in enumerate(rows)]
    else:
        r["search"]["eval_s"] = round(sum(float(row["wall_s"]) for row in rows), 2)
        r["search"]["trained_networks"] = len({row["arch"] for row in rows if row["status"] == "OK"})
        r["curve"] = best_curve(out)
    return r


def table(results: dict) -> str:
    """The markdown table of ``results`` (as written to results.json)."""
    n = len(results["final_seeds"])
    lines = [f"| strategy | search time (s): wall / CPU | candidates: proposed / trained / over target | "
             f"search-time score of its pick | common recipe: accuracy (mean ± sd, {n} seeds) | "
             f"latency (ms) | within {results['target_ms']:g} ms |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results["strategies"].items():
        s, p, f = r["search"], r["pick"], r["final"]
        c = s["status_counts"]
        if name == "dnas":
            wall = f"{s['wall_s']:.0f} / {s['cpu_s']:.0f}" + (f" (supernet: {s['supernet_s']:.0f} wall)"
                                                               if s.get("supernet_s") else "")
            cands = f"{s['proposed']} final paths of 1 supernet / {c['OK']} scored / {c['INFEASIBLE']}"
            kind = "fine-tuned path"
        else:
            wall = f"{s['wall_s']:.0f} / {s['cpu_s']:.0f}"
            cands = f"{s['proposed']} / {s['trained_networks']} / {c['INFEASIBLE']}"
            kind = f"{results['epochs']}-epoch training"
        score = f"{p['search_score']:.4f} ({kind})" if p["search_score"] is not None else "none within target"
        lines.append(f"| {name} | {wall} | {cands} | {score} | {f['mean']:.4f} ± {f['sd']:.4f} | "
                     f"{p['latency_ms']:.3f} | {'yes' if p['within_target'] else '**no**'} |")
    return "\n".join(lines)


def plot(results: dict) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.3), dpi=110)
    colors = dict(zip(STRATEGIES, ("tab:red", "tab:blue", "tab:green", "tab:gray")))
    for name, r in results["strategies"].items():
        p, f = r["pick"], r["final"]
        ax1.errorbar(p["latency_ms"], f["mean"], yerr=f["sd"], fmt="o", capsize=4, color=colors[name],
                     label=f"{name}: {f['mean']:.3f} ± {f['sd']:.3f}")
        if "curve" in r:
            cur = np.array(r["curve"], dtype=float)
            ax2.step(cur[:, 0], cur[:, 1], where="post", color=colors[name], label=f"{name} (search score)")
            ax2.plot(cur[-1, 0], f["mean"], "*", ms=12, color=colors[name])
        else:
            ax2.plot(r["search"]["wall_s"], f["mean"], "*", ms=12, color=colors[name],
                     label=f"{name} (one supernet; wall time)")
    ax1.axvline(results["target_ms"], color="k", ls="--", lw=1, label=f"target {results['target_ms']:g} ms")
    ax1.set_xlabel("latency on the table (ms)")
    ax1.set_ylabel(f"common recipe accuracy ({results['final_epochs']} epochs, mean ± sd)")
    ax1.set_title("each strategy's pick, re-trained from scratch", fontsize=9)
    ax2.set_xlabel("search time (s): summed candidate evaluations; dnas: its whole run")
    ax2.set_ylabel(f"best {results['epochs']}-epoch score so far; * = common recipe")
    ax2.set_title(f"search progress ({results['trials']} candidates each)", fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(textwrap.fill(f"{SPACE} on {results['table']['summary']}", 120), fontsize=9)   # long: wrap
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(HERE.parents[1]))
    except ValueError:
        return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target-ms", type=float, default=0.8,
                    help="0.8: the median of 1,000 uniform fbnet draws (default_rng(0)) on the default "
                         "iphone11/ane table, rounded to 0.1 ms (chosen before the run; README)")
    ap.add_argument("--trials", type=int, default=48, help="candidates per sampling strategy")
    ap.add_argument("--epochs", type=int, default=2, help="training epochs of a candidate during the search")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--dnas-budget", default="small", choices=("small", "medium", "large"))
    ap.add_argument("--final-epochs", type=int, default=4)
    ap.add_argument("--final-seeds", default="0,1,2")
    ap.add_argument("--seed", type=int, default=0, help="seed of every search")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--jobs", type=int, default=2, help="processes at a time (each on one thread)")
    ap.add_argument("--work", default=str(HERE / "search_out"), help="folder of the searches (kept, resumed)")
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args(argv)
    a = {k: getattr(args, k) for k in ("target_ms", "trials", "epochs", "resolution", "dnas_budget",
                                       "final_epochs", "seed")}
    names = [s for s in args.strategies.split(",") if s]
    unknown = set(names) - set(STRATEGIES)
    if unknown:
        ap.error(f"unknown strategies {sorted(unknown)}; choose from {', '.join(STRATEGIES)}")
    seeds = [int(s) for s in args.final_seeds.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
        jobs = {s: pool.submit(search_job, s, str(work), a) for s in names}
        searched = {s: j.result() for s, j in jobs.items()}
        picks = {s: chosen(work / s, searched[s]["summary"]) for s in names}
        unique = {(tuple(p["choices"]), seed) for p in picks.values() for seed in seeds}   # a shared pick trains once
        fin = {k: pool.submit(final_job, list(k[0]), k[1], str(work), a) for k in sorted(unique)}
        finals = {(s, seed): fin[(tuple(picks[s]["choices"]), seed)].result() for s in names for seed in seeds}
    from nas.search.session import prepare
    prep = prepare(_config(a, "random", work / "random", True))
    results = {"space": SPACE, "target_ms": args.target_ms, "fastest_ms": round(prep.fastest_ms, 6),
               "slowest_ms": round(prep.slowest_ms, 6),
               "table": prep.table_info | {"path": _relative(prep.table_info["path"])},
               "trials": args.trials, "epochs": args.epochs,
               "resolution": args.resolution, "dnas_budget": args.dnas_budget, "search_seed": args.seed,
               "final_epochs": args.final_epochs, "final_seeds": seeds, "jobs": args.jobs,
               "wall_s_this_call": round(time.perf_counter() - t0, 1),
               "strategies": {s: collect(s, work / s, searched[s], [finals[(s, seed)] for seed in seeds])
                              for s in names}}
    out = Path(args.out)
    write_atomic(out / "results.json", json.dumps(results, indent=1) + "\n")
    md = (f"space {SPACE}, target {args.target_ms:g} ms on {prep.table_info['summary']} (fastest network "
          f"{prep.fastest_ms:.3f} ms); searches seed {args.seed}, {args.trials} candidates per sampling "
          f"strategy at {args.epochs} epochs, dnas budget {args.dnas_budget}; common recipe: digits "
          f"{args.resolution}px, {args.final_epochs} epochs, seeds {args.final_seeds}\n\n" + table(results) + "\n")
    write_atomic(out / "results.md", md)
    write_atomic(out / "comparison.png", plot(results))
    write_provenance(out, __file__, "python experiments/dnas_fbnet/run.py " + " ".join(argv or sys.argv[1:]),
                     [prep.table_info["path"]])
    print(md)
    print(f"wall time of this call: {results['wall_s_this_call']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
