"""Tabular benchmarks: spaces whose every network was trained, so accuracy is a lookup.

A space YAML names its benchmark under ``benchmark:`` (file relative to the
space file, and what the accuracy is). The file maps an architecture key --
the space's option indices as a digit string, e.g. NAS-Bench-Macro's
``22212220`` -- to per-seed accuracies, their mean, params and FLOPs. It is
data from outside the project, so it is checked field by field on load: a bad
or crafted file is refused with the file, key and field named.

Why here: the benchmark describes the space (which networks exist, what they
scored); estimators and experiments read it, never the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from nas.errors import SpecError
from nas.fsutil import loads_json

FIELDS = ("test_acc", "mean_acc", "std", "params", "flops")


@dataclass(frozen=True)
class BenchmarkInfo:
    """What a space YAML says of its benchmark."""

    file: Path
    metric: str          # e.g. "CIFAR-10 test accuracy (%)"
    citation: str
    license: str


@dataclass(frozen=True)
class Benchmark:
    """Every trained architecture of a space, as arrays in one order (keys sorted)."""

    info: BenchmarkInfo
    keys: tuple[str, ...]
    choices: np.ndarray      # (N, D) int64 option indices
    seed_acc: np.ndarray     # (N, S) accuracy of each training seed
    mean_acc: np.ndarray     # (N,)
    params: np.ndarray       # (N,) int64, as the benchmark counts them
    flops: np.ndarray        # (N,) int64 (multiply-accumulates at the benchmark's input size)
    rows: dict[str, int] = field(default_factory=dict, repr=False, compare=False)   # key -> row, built at load

    @property
    def seeds(self) -> int:
        return int(self.seed_acc.shape[1])

    def __len__(self) -> int:
        return len(self.keys)

    def index(self, choices: Sequence[int]) -> int | None:
        """Row of an architecture, or None if the benchmark does not hold it."""
        key = "".join(str(int(c)) for c in choices)
        return self.rows.get(key)

    def accuracy(self, choices: Sequence[int], seed: int | None = None) -> float | None:
        """Mean accuracy over the training seeds (or one seed's), None if not in the benchmark."""
        i = self.index(choices)
        if i is None:
            return None
        return float(self.mean_acc[i] if seed is None else self.seed_acc[i, seed])


def benchmark_info(data: dict, space_file: Path) -> BenchmarkInfo | None:
    """The ``benchmark:`` entry of a space YAML (None when the space has none)."""
    spec = data.get("benchmark")
    if spec is None:
        return None
    file = str(space_file)
    if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
        raise SpecError("benchmark must be a mapping with 'file' (path relative to the space file)",
                        file=file, field="benchmark")
    unknown = set(spec) - {"file", "metric", "citation", "license"}
    if unknown:
        raise SpecError(f"unknown keys {sorted(unknown)}", file=file, field="benchmark")
    path = (space_file.parent / spec["file"]).resolve()
    return BenchmarkInfo(path, str(spec.get("metric", "accuracy")), str(spec.get("citation", "")),
                         str(spec.get("license", "")))


def _number(value, file: str, key: str, field: str, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value < 0:
        raise SpecError(f"expected a finite non-negative {'integer' if integer else 'number'}, got "
                        f"{str(value)[:40]!r}", file=file, layer=f"arch {key[:20]}", field=field)
    return value


@lru_cache(maxsize=4)
def _load(info: BenchmarkInfo, cardinalities: tuple[int, ...]) -> Benchmark:
    file = str(info.file)
    try:
        raw = loads_json(info.file.read_bytes())
    except OSError as e:
        raise SpecError(f"cannot read the benchmark: {e.strerror or e}", file=file) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"not a JSON file: {str(e)[:80]}", file=file) from None
    if not isinstance(raw, dict) or not raw:
        raise SpecError("a benchmark is a non-empty mapping of architecture keys to records", file=file)
    keys = sorted(raw)
    d = len(cardinalities)
    choices = np.zeros((len(keys), d), dtype=np.int64)
    seed_acc, mean, params, flops = [], [], [], []
    for i, key in enumerate(keys):
        rec = raw[key]
        if (len(key) != d or not key.isdigit() or not key.isascii()
                or any(int(c) >= n for c, n in zip(key, cardinalities))):
            raise SpecError(f"architecture key must be {d} option digits of the space, got {key[:20]!r}",
                            file=file, field="key")
        if not isinstance(rec, dict) or set(FIELDS) - set(rec):
            raise SpecError(f"a record needs {', '.join(FIELDS)}", file=file, layer=f"arch {key}")
        accs = rec["test_acc"]
        if not isinstance(accs, list) or not accs:
            raise SpecError("expected a non-empty list of per-seed accuracies", file=file,
                            layer=f"arch {key}", field="test_acc")
        seed_acc.append([_number(a, file, key, "test_acc") for a in accs])
        if seed_acc and len(seed_acc[-1]) != len(seed_acc[0]):
            raise SpecError("every architecture needs the same number of seeds", file=file,
                            layer=f"arch {key}", field="test_acc")
        mean.append(_number(rec["mean_acc"], file, key, "mean_acc"))
        _number(rec["std"], file, key, "std")
        params.append(_number(rec["params"], file, key, "params", integer=True))
        flops.append(_number(rec["flops"], file, key, "flops", integer=True))
        choices[i] = [int(c) for c in key]
    return Benchmark(info, tuple(keys), choices, np.array(seed_acc, dtype=np.float64),
                     np.array(mean, dtype=np.float64), np.array(params, dtype=np.int64),
                     np.array(flops, dtype=np.int64), {k: i for i, k in enumerate(keys)})


def load_benchmark(space) -> Benchmark:
    """The benchmark of ``space`` (a ``nas.spaces.Space``); refuses a space that has none."""
    if space.benchmark is None:
        raise SpecError(f"space {space.name!r} has no benchmark (shipped with one: nasbench_macro)",
                        field="space")
    return _load(space.benchmark, tuple(int(c) for c in space.cardinalities))
