"""The trial log: an append-only JSONL file, one line per evaluated candidate.

The first line is a header with the search's settings; every later line is a
trial, written and flushed as it finishes. A resumed search checks the header
against its own settings, drops a truncated last line (a kill mid-write) and
replays the stored trials instead of evaluating them again.

Durability. Each trial line is flushed to the operating system before the next
trial is handed on or the strategy is told, so killing the process (Ctrl-C,
SIGKILL, out of memory) never loses a finished trial. Against an OS crash or
power loss the line must also be fsynced: by default after every trial (a
trained candidate is minutes of work). ``sync_every_s > 0`` groups those fsyncs
instead -- one when a trial is appended at least that long after the last one,
and one on close -- for lookups (``--accuracy benchmark``), where an fsync
(0.2-4 ms here) costs more than a trial; a crash of the machine then loses at
most the trials of the last ``sync_every_s`` seconds, which a resume redoes in
milliseconds.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from nas.errors import NasError
from nas.fsutil import is_finite_number, json_text
from nas.jsonlog import cut_torn_tail, read_log
from nas.search.strategies.base import Result, Status

LOG_NAME = "trials.jsonl"


@dataclass(frozen=True)
class Trial:
    """A stored trial: the strategy's result plus what the report needs."""

    index: int
    result: Result
    arch: str                  # DSL string of the decoded network
    accuracy_kind: str | None
    wall_s: float

    def to_json(self) -> dict:
        return {"trial": self.index, "choices": list(self.result.choices), "status": self.result.status.value,
                "metrics": self.result.metrics, "arch": self.arch, "accuracy_kind": self.accuracy_kind,
                "wall_s": round(self.wall_s, 4)}

    @staticmethod
    def from_json(d: dict) -> "Trial":
        """A stored trial; ValueError naming the field when the record is not one."""
        if not isinstance(d, dict):
            raise ValueError(f"a trial is a JSON object, got {type(d).__name__}")
        for key, kinds in (("trial", int), ("choices", list), ("status", str), ("metrics", dict), ("arch", str)):
            if key not in d:
                raise ValueError(f"field {key!r} is missing")
            if not isinstance(d[key], kinds) or isinstance(d[key], bool):
                raise ValueError(f"field {key!r} must be a {kinds.__name__}, got {d[key]!r:.40}")
        if not all(type(c) is int and c >= 0 for c in d["choices"]):
            raise ValueError("field 'choices' must be a list of non-negative integers")
        if not all(is_finite_number(v) for v in d["metrics"].values()):
            raise ValueError("field 'metrics' must map names to finite numbers")
        needs = {"OK": ("accuracy", "latency_ms"), "INFEASIBLE": ("latency_ms",)}.get(d["status"], ())
        missing = [k for k in needs if k not in d["metrics"]]
        if missing:
            raise ValueError(f"field 'metrics' of a trial with status {d['status']} needs {missing[0]!r}")
        kind, wall = d.get("accuracy_kind"), d.get("wall_s", 0.0)
        if kind is not None and not isinstance(kind, str) or isinstance(wall, bool) \
                or not isinstance(wall, (int, float)):
            raise ValueError("fields 'accuracy_kind' (text) or 'wall_s' (a number) have the wrong type")
        return Trial(d["trial"], Result(tuple(d["choices"]), Status(d["status"]), dict(d["metrics"])),
                     d["arch"], kind, float(wall))


def check_header(stored: dict, header: dict, where: str) -> None:
    """Refuse to resume a search whose stored settings differ from this one's."""
    diff = sorted(k for k in set(stored) | set(header) if stored.get(k) != header.get(k))
    if diff:
        k = diff[0]
        raise NasError(f"{where}: cannot resume, the stored search used {k}={stored.get(k)!r}, this "
                       f"one {k}={header.get(k)!r} (changed: {', '.join(diff)})")


class TrialLog:
    """Append-only trial storage under ``out/trials.jsonl``."""

    def __init__(self, out: str | os.PathLike, *, sync_every_s: float = 0.0):
        self.path = Path(out) / LOG_NAME
        self.sync_every_s = sync_every_s
        self._file = None
        self._synced_at = 0.0
        self._unsynced = 0

    def open(self, header: dict, *, resume: bool) -> list[Trial]:
        """Start a new log, or (``resume``) check and load an existing one; returns stored trials."""
        if self.path.exists() and not resume:
            raise NasError(f"{self.path} exists: pass --resume to continue that search, or choose another --out")
        trials: list[Trial] = []
        if resume and self.path.exists():
            trials = self._load(header)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write_lines([json_text({"header": header}, sort_keys=True)], mode="w")
        self._file = open(self.path, "a")
        return trials

    def _load(self, header: dict) -> list[Trial]:
        lines = read_log(self.path, "the trial log")
        try:
            stored = lines[0][1]["header"]
            if not isinstance(stored, dict):
                raise TypeError
        except (IndexError, KeyError, TypeError):
            raise NasError(f"{self.path}: no header line; not a trial log of `nas search`") from None
        check_header(stored, header, str(self.path))
        trials = []
        for n, rec in lines[1:]:
            try:
                trials.append(Trial.from_json(rec))
            except (ValueError, KeyError, TypeError) as e:
                raise NasError(f"{self.path}: line {n} is not a trial: {e}") from None
            if trials[-1].index != len(trials) - 1:
                raise NasError(f"{self.path}: line {n} holds trial {trials[-1].index}, expected {len(trials) - 1}")
        cut_torn_tail(self.path)                 # the next append starts on a line of its own
        return trials

    def _write_lines(self, lines: list[str], mode: str) -> None:
        with open(self.path, mode) as f:
            f.write("".join(l + "\n" for l in lines))
            f.flush()
            os.fsync(f.fileno())

    def append(self, trial: Trial) -> None:
        """Write one trial: flushed (safe from a kill) before returning; fsynced as the module doc says."""
        self._file.write(json_text(trial.to_json(), sort_keys=True) + "\n")
        self._file.flush()
        self._unsynced += 1
        now = time.monotonic()
        if now - self._synced_at >= self.sync_every_s:
            self.sync(now)

    def sync(self, now: float | None = None) -> None:
        """fsync what was appended (no-op when nothing was)."""
        if self._file and self._unsynced:
            os.fsync(self._file.fileno())
            self._unsynced = 0
            self._synced_at = time.monotonic() if now is None else now

    def close(self) -> None:
        if self._file:
            self.sync()
            self._file.close()
            self._file = None
