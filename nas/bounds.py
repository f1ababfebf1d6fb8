"""Range checks of settings, shared by every command (``nas search``'s in ``nas.search.checks``).

A bad number used to surface deep inside numpy, torch or a profiling loop -- a
traceback, or hours of work on a NaN time budget. Each check names the setting
(the command-line flag), the value given and the allowed range, and is run before
anything is written.

Checks that several commands share live here too, rather than in one command
that the others import: the measuring protocol's flags of ``nas profile-ops``
and ``nas tables validate`` (``check_measure_flags``).
"""

from __future__ import annotations

import math

from nas.errors import NasError

MAX_SEED = 2**32 - 1          # numpy's and torch's seeds agree below this
MAX_RUNS = 10**6              # timed runs of one group
MAX_TIME_S = 86_400.0         # a day of timed rounds per group
MAX_NETS = 10_000             # whole networks drawn for calibration or validation


def int_in(flag: str, value, lo: int, hi: int) -> int:
    """``value`` if it is an integer in ``lo..hi``, else a ``NasError`` naming ``flag``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NasError(f"{flag} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def number_in(flag: str, value, lo: float, hi: float, *, unit: str = "") -> float:
    """``value`` if it is a finite number in ``[lo, hi]``, else a ``NasError`` naming ``flag``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise NasError(f"{flag} must be a finite number{unit} in [{lo:g}, {hi:g}], got {value!r}")
    return value


def seed(flag: str, value) -> int:
    return int_in(flag, value, 0, MAX_SEED)


def check_measure_flags(args) -> None:
    """The measuring protocol's flags (profile-ops, tables validate), each in range, before any work."""
    int_in("--min-runs", args.min_runs, 1, MAX_RUNS)
    number_in("--min-time", args.min_time, 0, MAX_TIME_S, unit=" of seconds")
    seed("--seed", args.seed)
