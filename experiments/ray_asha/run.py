"""ASHA on a small training-based search: one Ray search run twice, without and with ``--early-stop asha``.

Both runs are the real CLI (``python -m nas search``), same seed, same settings, ``--backend ray
--workers 2 --accuracy train``, on the table ``find_table`` picks by default for iphone11/ane (today's
regime). The latency target is chosen before either run, from the space's latency distribution on that
table: the median of ``--draws`` fbnet networks drawn uniformly with ``numpy.random.default_rng(0)``
(one integer per decision), rounded to 0.1 ms, so that about half of the candidates are over it.

The two search folders (``asha_off/``, ``asha_on/``: trial log, summary, ``ray/completed.jsonl``, the
CLI's output) are kept next to this script; ``results.json``, ``results.md``, ``asha.png`` and
``provenance.json`` are derived from them. What does not depend on machine load is counted from those
files: candidate-epochs trained (``ray/completed.jsonl``: one line per Ray trial, with the epochs it ran),
trials over the target, each run's best and whether it is the same network. Wall time is measured here
and is indicative only (shared machine; the load average around each run is recorded).

    nice -n 10 python experiments/ray_asha/run.py          # about 10 min here (2 shared cores)
    python experiments/ray_asha/run.py --reuse             # re-derive the results from the kept folders
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nas.fsutil import write_atomic
from nas.provenance import write_provenance

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPACE, DEVICE, UNIT = "fbnet", "iphone11", "ane"
MODES = {"asha_off": [], "asha_on": ["--early-stop", "asha"]}
KEEP = ("summary.json", "trials.jsonl", "trials.csv", "best.yaml", "ray/completed.jsonl", "cli.txt", "timing.json")


def latency_distribution(draws: int) -> tuple[dict, dict]:
    """(the default table's info, quantiles of ``draws`` uniformly drawn networks' predicted latency)."""
    from nas.search.session import SearchConfig, prepare
    prep = prepare(SearchConfig(space=SPACE, target_ms=1.0, out=str(HERE / "not-written"), device=DEVICE,
                                unit=UNIT, accuracy="train"))   # prepare only checks: it writes nothing
    rng = np.random.default_rng(0)
    choices = np.stack([rng.integers(0, int(c), draws) for c in prep.space.cardinalities], axis=1)
    lat = prep.pricer.price(choices)
    q = {f"q{int(p * 100):02d}": round(float(np.quantile(lat, p)), 4) for p in (0.1, 0.25, 0.5, 0.75, 0.9)}
    dist = {"draws": draws, "rng": "numpy default_rng(0), one integers(0, cardinality) per decision",
            "fastest_ms": round(prep.fastest_ms, 4), "slowest_ms": round(prep.slowest_ms, 4), **q,
            "latencies": lat}
    return prep.table_info, dist


def command(a, mode: str, out: Path, target: float) -> list[str]:
    return ["nas", "search", "--space", SPACE, "--device", DEVICE, "--unit", UNIT, "--target-ms", f"{target:g}",
            "--accuracy", "train", "--train-epochs", str(a.epochs), "--trials", str(a.trials),
            "--batch-size", str(a.batch_size), "--backend", "ray", "--workers", str(a.workers),
            "--seed", str(a.seed), "--no-export", "--no-baselines", *MODES[mode],
            "--out", os.path.relpath(out, ROOT)]


def run_search(cmd: list[str], out: Path) -> dict:
    """Run one search with the CLI from the repository root (torch and BLAS on one thread per process)."""
    if out.exists():
        shutil.rmtree(out)          # a fresh run: a resumed one would time less than it trained
    out.mkdir(parents=True)
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    load0, t0 = os.getloadavg(), time.perf_counter()
    print(f"[{out.name}] {' '.join(cmd)}", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "nas", *cmd[1:]], cwd=ROOT, env=env, capture_output=True, text=True)
    timing = {"wall_s": round(time.perf_counter() - t0, 1), "loadavg_1_5_15_before": [round(x, 2) for x in load0],
              "loadavg_1_5_15_after": [round(x, 2) for x in os.getloadavg()], "returncode": done.returncode}
    write_atomic(out / "cli.txt", done.stdout + ("\n--- stderr (last 40 lines) ---\n" +
                                                 "\n".join(done.stderr.splitlines()[-40:]) if done.returncode else ""))
    if done.returncode:
        raise SystemExit(f"{out.name}: nas search exited {done.returncode}; see {out / 'cli.txt'}")
    write_atomic(out / "timing.json", json.dumps(timing, indent=1) + "\n")
    for p in out.rglob("*"):        # keep the small records only (no plots, no Ray checkpoints)
        if p.is_file() and str(p.relative_to(out)) not in KEEP:
            p.unlink()
    print(f"[{out.name}] {timing['wall_s']:.0f} s", file=sys.stderr, flush=True)
    return timing


def read_run(out: Path, epochs: int) -> dict:
    """Counts from one kept search folder (nothing here depends on how fast the machine was)."""
    summary = json.loads((out / "summary.json").read_text())
    lines = (out / "trials.jsonl").read_text().splitlines()
    trials = [json.loads(l) for l in lines[1:]]
    trainings = [json.loads(l) for l in (out / "ray" / "completed.jsonl").read_text().splitlines() if l.strip()]
    rows = [{"trial": t["trial"], "arch": t["arch"], "latency_ms": round(t["metrics"]["latency_ms"], 4),
             "status": t["status"], "accuracy": t["metrics"].get("accuracy"), "accuracy_kind": t.get("accuracy_kind"),
             "epochs_trained": (int(t["metrics"].get("epochs_trained", epochs)) if t["status"] == "OK" else 0)}
            for t in trials]
    best = summary["best"]
    return {"timing": json.loads((out / "timing.json").read_text()),
            "status_counts": summary["status_counts"], "proposed": len(trials),
            "ray_trainings": len(trainings), "candidate_epochs_trained": sum(r["epoch"] for r in trainings),
            "candidate_epochs_full": len(trainings) * epochs,
            "stopped_early": sum(r["epoch"] < epochs for r in trainings),
            "worker_retries": sum(r.get("retries", 0) for r in trainings),
            "best": None if best is None else {k: best[k] for k in ("trial", "arch", "latency_ms", "accuracy",
                                                                    "accuracy_kind")},
            "trials": rows}


def compare(off: dict, on: dict) -> dict:
    """What ASHA changed: the same proposals?, the same pick?, the stopped candidates' full-training accuracy."""
    full = {r["arch"]: r["accuracy"] for r in off["trials"] if r["status"] == "OK"}
    stopped = [{"trial": r["trial"], "epochs_trained": r["epochs_trained"], "accuracy_when_stopped": r["accuracy"],
                "accuracy_full_training": full.get(r["arch"])}
               for r in on["trials"] if r["status"] == "OK" and r["accuracy_kind"] != "train"]
    ranked = sorted(full.values(), reverse=True)
    pick = on["best"]["arch"] if on["best"] else None
    return {"same_proposals": [r["arch"] for r in off["trials"]] == [r["arch"] for r in on["trials"]],
            "same_pick": bool(off["best"] and on["best"] and off["best"]["arch"] == on["best"]["arch"]),
            "asha_pick_full_training_accuracy": full.get(pick),
            "asha_pick_rank_in_full_training": (ranked.index(full[pick]) + 1) if pick in full else None,
            "full_training_best_was_stopped": bool(off["best"]) and any(
                r["arch"] == off["best"]["arch"] and r["accuracy_kind"] != "train" for r in on["trials"]),
            "stopped": stopped,
            "candidate_epochs_saved": off["candidate_epochs_trained"] - on["candidate_epochs_trained"]}


def table(res: dict) -> str:
    lines = ["| run | wall (s), indicative | proposed | over target | trained (Ray trials) | candidate-epochs trained "
             "| stopped early | best accuracy (kind) | best: trial, latency |", "|---|---|---|---|---|---|---|---|---|"]
    for mode, r in res["runs"].items():
        b = r["best"]
        lines.append(f"| {mode} | {r['timing']['wall_s']:.0f} | {r['proposed']} | {r['status_counts']['INFEASIBLE']} | "
                     f"{r['ray_trainings']} | {r['candidate_epochs_trained']} of {r['candidate_epochs_full']} | "
                     f"{r['stopped_early']} | {b['accuracy']:.4f} ({b['accuracy_kind']}) | "
                     f"{b['trial']}, {b['latency_ms']:.3f} ms |")
    return "\n".join(lines)


def per_candidate(res: dict) -> str:
    on = {r["trial"]: r for r in res["runs"]["asha_on"]["trials"]}
    lines = [f"| trial | latency (ms) | {res['epochs']}-epoch accuracy (asha_off) | asha_on: epochs trained | "
             "asha_on: accuracy |", "|---|---|---|---|---|"]
    for r in res["runs"]["asha_off"]["trials"]:
        if r["status"] != "OK":
            continue
        o = on.get(r["trial"], {})
        same = o.get("arch") == r["arch"]
        asha = f"{o['epochs_trained']} | {o['accuracy']:.4f}" if same else "another network | n/a"
        lines.append(f"| {r['trial']} | {r['latency_ms']:.3f} | {r['accuracy']:.4f} | {asha} |")
    return "\n".join(lines)


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    on = {r["arch"]: r for r in res["runs"]["asha_on"]["trials"] if r["status"] == "OK"}
    pts = [(r["accuracy"], on[r["arch"]]["accuracy"], on[r["arch"]]["epochs_trained"])
           for r in res["runs"]["asha_off"]["trials"] if r["status"] == "OK" and r["arch"] in on]
    fig, ax = plt.subplots(figsize=(5.2, 4.4), dpi=100)
    for e in sorted({p[2] for p in pts}):
        xs = [p for p in pts if p[2] == e]
        ax.scatter([p[0] for p in xs], [p[1] for p in xs], label=f"ASHA trained {e} epoch(s)", s=30)
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
    ax.set_xlabel(f"accuracy after {res['epochs']} epochs (no early stopping)")
    ax.set_ylabel("accuracy ASHA recorded")
    ax.set_title(f"{SPACE}, {res['target_ms']:g} ms on {DEVICE}/{UNIT}, seed {res['seed']}: each trained candidate",
                 fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=32, help="candidates per run (evolution's first 32 are random "
                    "draws of its seed, so up to 32 both runs propose the same candidates)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--draws", type=int, default=1000, help="networks drawn to choose the target")
    ap.add_argument("--target-ms", type=float, help="default: the median of the draws, rounded to 0.1 ms")
    ap.add_argument("--reuse", action="store_true", help="derive the results from the kept folders, run nothing")
    ap.add_argument("--out", default=str(HERE))
    a = ap.parse_args(argv)
    out = Path(a.out)
    info, dist = latency_distribution(a.draws)
    lat = dist.pop("latencies")
    target = a.target_ms if a.target_ms is not None else round(dist["q50"], 1)
    dist["over_target"] = round(float(np.mean(lat > target)), 4)
    print(f"table {info['path']} ({info['sha256'][:12]}); {a.draws} networks: median {dist['q50']} ms; target "
          f"{target:g} ms ({dist['over_target']:.1%} of them over)", file=sys.stderr, flush=True)
    cmds = {m: command(a, m, out / m, target) for m in MODES}
    if not a.reuse:
        for m in MODES:
            run_search(cmds[m], out / m)
    runs = {m: read_run(out / m, a.epochs) for m in MODES}
    for m, r in runs.items():
        if r["worker_retries"]:
            print(f"note: {m}: {r['worker_retries']} Ray worker retries", file=sys.stderr)
    res = {"what": "nas search --accuracy train on Ray Tune (2 workers), without and with --early-stop asha",
           "space": SPACE, "device": DEVICE, "unit": UNIT, "table": info, "target_ms": target,
           "target_rule": f"median of {a.draws} uniformly drawn networks' predicted latency on the table, rounded "
                          "to 0.1 ms (chosen before the runs)", "latency_of_draws": dist,
           "trials": a.trials, "epochs": a.epochs, "batch_size": a.batch_size, "workers": a.workers, "seed": a.seed,
           "data": "scikit-learn digits (no --data) at 32 px", "commands": {m: " ".join(c) for m, c in cmds.items()},
           "runs": runs, "asha_vs_full": compare(runs["asha_off"], runs["asha_on"]),
           "wall_time_note": "the machine is shared (2 cores, other jobs): wall times are indicative only; "
                             "the load average around each run is in runs.*.timing"}
    write_atomic(out / "results.json", json.dumps(res, indent=1) + "\n")
    c = res["asha_vs_full"]
    md = (f"{SPACE}, target {target:g} ms on {info['summary']} (`{info['path']}`, sha256 `{info['sha256'][:12]}`); "
          f"{a.trials} candidates, batches of {a.batch_size}, {a.epochs} epochs, {a.workers} Ray workers, seed {a.seed}; "
          f"digits at 32 px\n\n" + table(res) + "\n\n"
          f"Same proposals in both runs: {c['same_proposals']}; same pick: {c['same_pick']}; ASHA's pick after full "
          f"training: {c['asha_pick_full_training_accuracy']} (rank {c['asha_pick_rank_in_full_training']} of the "
          f"trained candidates); the full-training best was stopped early by ASHA: {c['full_training_best_was_stopped']}."
          f"\n\nEvery trained candidate:\n\n" + per_candidate(res) + "\n")
    write_atomic(out / "results.md", md)
    plot(res, out / "asha.png")
    if not a.reuse:   # the record of the runs: the commit that made them, not a later re-derivation's
        args = argv if argv is not None else sys.argv[1:]
        write_provenance(out, __file__, " ".join(["python experiments/ray_asha/run.py", *args]), [info["path"]])
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
