"""Raw scores of every component for the two ground truths, kept in JSON lines (resumable).

* ``nbmacro.jsonl``: a seeded random sample of NAS-Bench-Macro (``numpy.random.default_rng(SEED)
  .choice(6561, N, replace=False)`` over the benchmark's sorted keys), each network at its own
  32x32 input;
* ``zoo.jsonl``: every zoo model whose file carries the article's ImageNet top-1, at its own input.

Each row: the architecture, its recorded accuracy (benchmark mean and per-seed, or the article's
top-1), every component of ``nas.search.accuracy.components`` with its seconds, and the three raw
scores of the ``proxy`` estimator at its 64x64 setting (``p64_*``; on the benchmark only for the first
``P64_FIRST`` networks of the sample, itself a seeded random sample). ``collect.py nbmacro I K`` computes
every K-th missing row from the I-th (K processes may share the file: each appends whole lines).
A row already in the file is not recomputed; a line that does not parse is ignored and recomputed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from nas import zoo
from nas.jsonlog import append_json_line
from nas.search.accuracy.components import COMPONENTS, scores
from nas.search.accuracy.proxy import raw_scores
from nas.spaces import load_benchmark, load_space

HERE = Path(__file__).parent
SEED, N = 0, 1000
P64_FIRST = 50    # the 64x64 proxy (16 images) costs ~5x the rest: scored on the first 50 of the sample


def read_rows(path: Path) -> dict[str, dict]:
    rows = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                rows[row["arch"]] = row
            except (ValueError, KeyError, TypeError):
                continue
    return rows


def sample_indices(n: int = N, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).choice(6561, n, replace=False)


def targets() -> tuple[list[tuple[str, object, dict]], list[tuple[str, object, dict]]]:
    space = load_space("nasbench_macro")
    b = load_benchmark(space)
    bench = []
    for i in sample_indices():
        net = space.decode(b.choices[i])
        bench.append((str(net), net, {"key": b.keys[i], "mean_acc": float(b.mean_acc[i]),
                                      "seed_acc": [float(a) for a in b.seed_acc[i]]}))
    zoo_rows = []
    for name in zoo.names():
        m = zoo.get(name)
        if m.article.get("top1"):
            zoo_rows.append((str(m.spec), m.spec, {"name": name, "top1": float(m.article["top1"])}))
    return bench, zoo_rows


def score_row(arch: str, net, meta: dict, p64: bool = True) -> dict:
    t: dict[str, float] = {}
    row = {"arch": arch, **meta, **scores(net, COMPONENTS, timings=t)}
    row["seconds"] = t
    if not p64:
        return row
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    row.update({f"p64_{k}": v for k, v in raw_scores(net).items()})
    row["seconds"]["proxy"] = time.perf_counter() - t0
    return row


def collect(path: Path, items, desc: str, p64_first: int | None = None, shard: tuple[int, int] = (0, 1)) -> list[dict]:
    """Rows of ``items`` (computed where missing); the 64x64 proxy only for the first ``p64_first``."""
    have = read_rows(path)
    p64 = {arch for arch, _, _ in items[:p64_first]}
    todo = [it for it in items if it[0] not in have][shard[0]::shard[1]]
    for arch, net, meta in tqdm(todo, desc=desc, unit="net"):
        row = score_row(arch, net, meta, p64=arch in p64)
        append_json_line(path, row)
        have[arch] = row
    return [have[arch] for arch, _, _ in items if arch in have]


FAST = ("params", "macs", "naswot")   # the default estimator's components


def collect_fast(path: Path, full: Path, items, desc: str) -> None:
    """Only ``FAST`` components, for the sample's networks not in ``full``, from the end of the sample backwards."""
    have = read_rows(full) | read_rows(path)
    for arch, net, meta in tqdm([it for it in items if it[0] not in have][::-1], desc=desc, unit="net"):
        if arch in read_rows(full):
            continue
        t: dict[str, float] = {}
        row = {"arch": arch, **meta, **scores(net, FAST, timings=t), "seconds": t}
        append_json_line(path, row)


def collect_with(path: Path, items, desc: str, fn) -> list[dict]:
    """``fn(net)`` (a dict of scores) per item, kept in ``path`` like the rows above."""
    have = read_rows(path)
    for arch, net, _ in tqdm([it for it in items if it[0] not in have], desc=desc, unit="net"):
        have[arch] = {"arch": arch, **fn(net)}
        append_json_line(path, have[arch])
    return [have[arch] for arch, _, _ in items]


def main(only: str | None = None, shard: tuple[int, int] = (0, 1)) -> tuple[list[dict], list[dict]]:
    torch.set_num_threads(1)
    bench, zoo_items = targets()
    if only == "fast":
        collect_fast(HERE / "nbmacro_fast.jsonl", HERE / "nbmacro.jsonl", bench, "NAS-Bench-Macro (fast)")
        return [], []
    z = collect(HERE / "zoo.jsonl", zoo_items, "zoo") if only != "nbmacro" else []
    b = collect(HERE / "nbmacro.jsonl", bench, "NAS-Bench-Macro", P64_FIRST, shard) if only != "zoo" else []
    return b, z


if __name__ == "__main__":
    import sys
    main(sys.argv[1] if len(sys.argv) > 1 else None,
         (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 1))
