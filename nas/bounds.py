"""Range checks of settings, shared by every command (``nas search``'s in ``nas.search.checks``).

A bad number used to surface deep inside numpy, torch or a profiling loop -- a
traceback, or hours of work on a NaN time budget. Each check names the setting
(the command-line flag), the value given and the allowed range, and is run before
anything is written.
"""

from __future__ import annotations

import math

from nas.errors import NasError

MAX_SEED = 2**32 - 1          # numpy's and torch's seeds agree below this


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
