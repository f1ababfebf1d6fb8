"""A persistent score cache, so that scoring a network twice with one estimator is free.

JSON lines, one record per scored network: ``{"key", "arch", "score", "kind"}``,
where ``key`` is the sha256 of the estimator's settings (sorted JSON) and the
network's canonical DSL string (which carries its input size). The file is only
ever appended to and read by ``nas.jsonlog`` like every log of finished work: a
torn last line is dropped (its network recomputed), any other damaged line or a
record with a wrong field is refused naming the line. Default location:
``$NAS_CACHE_DIR/estimates.jsonl``, else ``$XDG_CACHE_HOME/nas/estimates.jsonl``,
else ``~/.cache/nas/estimates.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nas.errors import NasError
from nas.fsutil import is_finite_number
from nas.jsonlog import append_json_line, bad_line, read_log


def default_path() -> Path:
    if os.environ.get("NAS_CACHE_DIR"):
        return Path(os.environ["NAS_CACHE_DIR"]) / "estimates.jsonl"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nas" / "estimates.jsonl"


def cache_key(settings: dict, arch: str) -> str:
    text = json.dumps(settings, sort_keys=True, default=str) + "\n" + arch
    return hashlib.sha256(text.encode()).hexdigest()


class ScoreCache:
    """Scores already computed, read once from ``path``; ``put`` appends (durably) to it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.entries: dict[str, dict] = {}
        if self.path.is_dir():
            raise NasError(f"--cache {self.path}: is a directory (expected a JSON-lines file)")
        if self.path.exists():
            for n, rec in read_log(self.path, "the estimate cache"):
                bad = _bad_record(rec)
                if bad:
                    raise bad_line(self.path, n, *bad, "the estimate cache")
                self.entries[rec["key"]] = rec

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def put(self, key: str, arch: str, score: float, kind: str) -> None:
        rec = {"key": key, "arch": arch, "score": score, "kind": kind}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_json_line(self.path, rec)
        self.entries[key] = rec


def _bad_record(rec: dict) -> tuple[str, str] | None:
    """(field, why) when a cache line is not a record ``put`` writes."""
    for k in ("key", "arch", "kind"):
        if not isinstance(rec.get(k), str):
            return k, "expected text"
    if not is_finite_number(rec.get("score")):
        return "score", f"{rec.get('score')!r:.60} is not a finite number"
    return None
