"""A persistent score cache, so that scoring a network twice with one estimator is free.

JSON lines, one record per scored network: ``{"key", "arch", "score", "kind"}``,
where ``key`` is the sha256 of the estimator's settings (sorted JSON) and the
network's canonical DSL string (which carries its input size). The file is only
ever appended to; lines are parsed with ``json.loads`` -- a corrupt or foreign
line is skipped (and its network recomputed), never executed. Default location:
``$NAS_CACHE_DIR/estimates.jsonl``, else ``$XDG_CACHE_HOME/nas/estimates.jsonl``,
else ``~/.cache/nas/estimates.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nas.errors import NasError
from nas.fsutil import append_json_line, is_finite_number, loads_json


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
            try:
                text = self.path.read_text(errors="replace")
            except OSError as e:
                raise NasError(f"--cache {self.path}: cannot read: {e.strerror or e}") from None
            for line in text.splitlines():
                rec = _record(line)
                if rec is not None:
                    self.entries[rec["key"]] = rec

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def put(self, key: str, arch: str, score: float, kind: str) -> None:
        rec = {"key": key, "arch": arch, "score": score, "kind": kind}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_json_line(self.path, rec)
        self.entries[key] = rec


def _record(line: str) -> dict | None:
    """A well-formed cache record, or None for anything else."""
    try:
        rec = loads_json(line)
    except ValueError:
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str) or not isinstance(rec.get("kind"), str):
        return None
    if not is_finite_number(rec.get("score")):
        return None
    return rec
