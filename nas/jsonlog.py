"""Append-only JSON-lines logs: one reading rule and one appender for every log a run reads back.

``dnas_runs.jsonl``, ``TABLE.partial.jsonl``, Ray's ``completed.jsonl``, ``trials.jsonl`` and the estimate
cache record finished work, one JSON object a line, each line written with its newline in one write and
fsynced. So, on reading back:

- a last line without its newline is an interrupted write (a kill mid-append): it is dropped, said once
  on stderr, and its work is redone; the next append cuts it off the file first;
- any other line that is not JSON, not UTF-8, or not a JSON object is damage or an edit, not a kill:
  refused as ``FILE: line N: ...`` (a ``NasError``), so nothing is silently lost or trusted;
- blank lines hold nothing and are skipped.

Readers check each record's fields themselves and refuse with the same ``FILE: line N: field F: ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nas.errors import NasError
from nas.fsutil import json_text, loads_json

HINT = "delete that line (or the file) to redo its work"


def read_log(path: str | os.PathLike, what: str) -> list[tuple[int, dict]]:
    """``(line number, record)`` for every complete line of the log at ``path`` (see the module doc)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:                         # a directory in its place, unreadable
        raise NasError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    lines = data.split(b"\n")
    if lines[-1]:
        from tqdm import tqdm                    # through any progress bar being drawn, not into it
        tqdm.write(f"nas: {path}: dropped a torn last line ({len(lines[-1])} bytes, an interrupted write); "
                   f"its work is redone", file=sys.stderr)
    out = []
    for n, raw in enumerate(lines[:-1], start=1):
        if not raw.strip():
            continue
        try:
            rec = loads_json(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise NasError(f"{path}: line {n}: not UTF-8; not a line of {what} ({HINT})") from None
        except ValueError as e:
            raise NasError(f"{path}: line {n}: not JSON ({str(e)[:120]}); only a torn last line is an "
                           f"interrupted write ({HINT})") from None
        if not isinstance(rec, dict):
            raise NasError(f"{path}: line {n}: a JSON {type(rec).__name__}, not an object; not a line of {what} "
                           f"({HINT})")
        out.append((n, rec))
    return out


def bad_line(path, n: int, field: str, why: str, what: str) -> NasError:
    """The refusal of a line that is JSON but not a record of ``what``."""
    return NasError(f"{path}: line {n}: field {field}: {why}; not a record of {what} ({HINT})")


def _cut_torn(f) -> None:
    """Truncate an open (read/append) file after its last newline: a torn line left by a kill."""
    end = f.seek(0, os.SEEK_END)
    pos = end
    while pos > 0:
        step = min(65536, pos)
        f.seek(pos - step)
        chunk = f.read(step)
        if pos == end and chunk.endswith(b"\n"):
            return
        i = chunk.rfind(b"\n")
        if i >= 0:
            pos = pos - step + i + 1
            break
        pos -= step
    f.truncate(pos)


def cut_torn_tail(path: str | os.PathLike) -> None:
    """Remove a torn last line from the file (nothing if it ends with a newline)."""
    with open(path, "r+b") as f:
        _cut_torn(f)
        f.flush()
        os.fsync(f.fileno())


def append_json_line(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and make it durable before returning (a record of finished work).

    The file is locked (``flock``) while appending, so writers without an output lock (the estimate
    cache) do not interleave, and a torn line a killed writer left is cut off first."""
    import fcntl
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        _cut_torn(f)
        f.write((json_text(record, sort_keys=True) + "\n").encode())
        f.flush()
        os.fsync(f.fileno())
