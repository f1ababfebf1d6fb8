"""What changed in a latency table between the version an experiment used and the file on disk now.

An experiment README whose figures come from an older table says so and says what changed in it
(docs/experiments.md). This script is how that is checked rather than guessed: it finds, in git
history, the version of TABLE whose sha256 starts with OLD_SHA (at or before --rev), loads both with
``nas.latency.load_table``, and prints the entries whose price changed, those added or removed, the
overhead and the header fields that differ; with --space it also prices networks of that space on both
versions (every network of an enumerable space, else --samples drawn with numpy default_rng(0)) and
prints the largest change of a network's latency.

    python experiments/table_change.py latency_tables/iphone11-ane.coreml-neuralnetwork-ios13.yaml \\
        9c23b4d9dcd3 --space nasbench_macro
"""

from __future__ import annotations

import argparse
import hashlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def old_version(path: str, sha_prefix: str, rev: str) -> tuple[str, bytes]:
    """(commit, bytes) of the newest version of ``path`` at or before ``rev`` whose sha256 starts with the prefix."""
    for commit in git("log", "--format=%H", rev, "--", path).decode().split():
        try:
            data = git("show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            continue
        if hashlib.sha256(data).hexdigest().startswith(sha_prefix.lower()):
            return commit, data
    raise SystemExit(f"no version of {path} with sha256 {sha_prefix}... in the history of {rev}")


def diff_tables(old, new) -> dict:
    """Entries changed in price (ms), added, removed; overhead and header fields that differ."""
    common = old.entries.keys() & new.entries.keys()
    changed = {k: (old.entries[k].median_ms, new.entries[k].median_ms) for k in sorted(common)
               if not math.isclose(old.entries[k].median_ms, new.entries[k].median_ms, rel_tol=0, abs_tol=0)}
    header = sorted(k for k in old.provenance.keys() | new.provenance.keys()
                    if old.provenance.get(k) != new.provenance.get(k))
    return {"changed": changed, "added": sorted(new.entries.keys() - old.entries.keys()),
            "removed": sorted(old.entries.keys() - new.entries.keys()),
            "overhead": (old.overhead.median_ms, new.overhead.median_ms), "provenance_fields": header,
            "runtime": (old.runtime, new.runtime)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", help="the table's path in the repository")
    ap.add_argument("old_sha", help="sha256 (a prefix of 8+ hex digits) of the version the experiment used")
    ap.add_argument("--rev", default="HEAD", help="look for the old version at or before this commit")
    ap.add_argument("--old-path", help="the table's path in the repository then, when it was renamed since")
    ap.add_argument("--space", help="also price this space's networks on both versions")
    ap.add_argument("--samples", type=int, default=10_000, help="networks drawn when the space is not enumerable")
    args = ap.parse_args(argv)
    from nas.latency import SpacePricer, load_table
    from nas.latency.table import table_from_dict
    commit, data = old_version(args.old_path or args.table, args.old_sha, args.rev)
    new = load_table(ROOT / args.table)
    raw = yaml.safe_load(data)
    if isinstance(raw, dict) and "runtime" not in raw:   # tables before the regime field (fc4a428)
        raw["runtime"] = new.runtime
        print(f"(the old version has no runtime field: read as {new.runtime}, the regime it was renamed into)")
    old = table_from_dict(raw, f"{args.old_path or args.table}@{commit[:10]}")
    d = diff_tables(old, new)
    now = hashlib.sha256((ROOT / args.table).read_bytes()).hexdigest()
    print(f"{args.old_path or args.table} -> {args.table}: {hashlib.sha256(data).hexdigest()[:12]} (at {commit[:10]}) -> {now[:12]} (on disk)")
    print(f"entries: {len(old.entries)} -> {len(new.entries)}; price changed {len(d['changed'])}, "
          f"added {len(d['added'])}, removed {len(d['removed'])}; overhead {d['overhead'][0]} -> {d['overhead'][1]} ms; "
          f"runtime {d['runtime'][0]} -> {d['runtime'][1]}")
    print(f"provenance fields that differ: {', '.join(d['provenance_fields']) or 'none'}")
    for k, (a, b) in list(d["changed"].items())[:10]:
        print(f"  {k}: {a} -> {b} ms")
    if args.space:
        from nas.spaces import load_space
        space = load_space(args.space)
        n = math.prod(int(c) for c in space.cardinalities)
        if n <= args.samples:
            import itertools
            choices = np.array(list(itertools.product(*(range(int(c)) for c in space.cardinalities))))
            what = f"all {n} networks"
        else:
            rng = np.random.default_rng(0)
            choices = np.stack([rng.integers(0, int(c), args.samples) for c in space.cardinalities], axis=1)
            what = f"{args.samples} networks drawn with default_rng(0)"
        a, b = SpacePricer(space, old).price(choices), SpacePricer(space, new).price(choices)
        print(f"{args.space}, {what}: largest latency change {np.abs(b - a).max():.6g} ms "
              f"(median {np.median(a):.4f} -> {np.median(b):.4f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
