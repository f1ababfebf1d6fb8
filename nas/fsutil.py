"""File helpers: atomic writes, so readers see the old or the new file, never half; strict JSON; locks."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

from nas.errors import NasError


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a file via a temporary sibling, fsync and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_file(flag: str, path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output file path that cannot be one: empty, an existing folder, or
    under a regular file (``FILE/x``). The message names the flag and the path."""
    path = _output_place(flag, path, "a file name")
    if path.is_dir():
        raise NasError(f"{flag} {path}: is a folder, not a file")
    return path


def check_output_folder(flag: str, path: str | os.PathLike) -> Path:
    """As ``check_output_file``, for an output folder: refused when it is an existing file."""
    path = _output_place(flag, path, "a folder")
    if path.exists() and not path.is_dir():
        raise NasError(f"{flag} {path}: is a file, not a folder")
    return path


def existing_place(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (or is a dangling link, or the root): where writing
    ``path`` would start creating folders."""
    place = path.parent
    while not place.exists() and not place.is_symlink() and place.parent != place:
        place = place.parent
    return place


def _output_place(flag: str, path, what: str) -> Path:
    if not str(path):
        raise NasError(f"{flag}: an empty path (give {what})")
    path = Path(path)
    place = existing_place(path)
    if place.exists() and not place.is_dir():
        raise NasError(f"{flag} {path}: cannot write there: {place} is a file, not a folder")
    return path


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def is_finite_number(v) -> bool:
    """A real number (not a bool) that is finite, an integer too large for a float counting as not."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def json_text(obj, **kwargs) -> str:
    """Standard JSON for a result file: never ``NaN``/``Infinity`` (other tools refuse them); a
    non-finite number, which validated inputs should never produce, is written as ``null``."""
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def _unique_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k[:60]!r} in a JSON object (which one is meant?)")
        out[k] = v
    return out


def loads_json(text: str | bytes, **kwargs):
    """``json.loads`` for every JSON file ``nas`` reads, whose every failure is a ``ValueError``: a key
    twice in one object (plain ``json.loads`` keeps the last: a file could say two things at once), and a
    document nested too deeply for the recursive decoder (``[[[[...]]]]``, a ``RecursionError`` otherwise)."""
    kwargs.setdefault("object_pairs_hook", _unique_keys)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


REPO = Path(__file__).resolve().parents[1]


def portable_path(path: str | os.PathLike | None) -> str | None:
    """How a result file records an input file so that it reads the same on another machine: the path
    relative to the repository when the file is in it (``latency_tables/iphone11-ane....yaml``), else
    its file name alone (record its sha256 beside it to identify it). Older results hold absolute
    paths; readers take either."""
    if path is None:
        return None
    p = Path(path).resolve()
    return p.relative_to(REPO).as_posix() if p.is_relative_to(REPO) else p.name


LOCK_NAME = ".nas.lock"


class OutputLock:
    """One writer per output: an OS lock (``flock``) on ``lock_path``, held until ``release``.

    A second process (or a second lock in this one) that asks for it while it is held gets a
    ``NasError`` naming ``what`` at once, before it writes anything. The lock goes with the
    process: a killed run leaves no stale lock (the file may stay; it holds nothing). On release
    the lock file is removed, and the folder too if this lock created it and left it empty, so a
    run refused for another reason leaves nothing behind.
    """

    def __init__(self, lock_path: str | os.PathLike, what: str):
        self.path, self.what = Path(lock_path), what
        self._fd: int | None = None
        self._made_dir = False

    def acquire(self) -> "OutputLock":
        import fcntl

        from nas.errors import NasError
        if not self.path.parent.exists():
            try:
                self.path.parent.mkdir(parents=True)
                self._made_dir = True
            except FileExistsError:
                pass
            except OSError as e:
                raise NasError(f"{self.path.parent}: cannot create the output folder ({e.strerror})") from None
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise NasError(f"{self.path.parent}: cannot write there ({e.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise NasError(f"{self.what} is in use: another run holds its lock ({self.path}); wait for it "
                               f"to finish, or choose another output") from None
            try:   # the holder we waited on may have removed the file: lock the one on disk
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                os.write(fd, f"{os.getpid()}\n".encode())
                return self
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)      # while still held: a waiting opener re-checks the inode
        finally:
            os.close(self._fd)
            self._fd = None
        if self._made_dir:
            try:
                self.path.parent.rmdir()           # only if empty
            except OSError:
                pass

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_folder(folder: str | os.PathLike, what: str | None = None) -> OutputLock:
    """The lock of an output folder (``folder/.nas.lock``); use as ``with lock_folder(out): ...``."""
    return OutputLock(Path(folder) / LOCK_NAME, what or f"output folder {folder}")


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes, read in 1 MiB blocks: what tables, results and experiments record."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
