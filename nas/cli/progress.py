"""One progress-bar factory for every command, so they all behave alike.

Bars go to stderr and are drawn only on a terminal: piped or logged output
(CI, ``| tee``) would otherwise fill with carriage-return fragments and the
phase messages written through the bar would land in the middle of them.
Set ``NAS_PROGRESS=1`` to force the bars on anyway, ``0`` to turn them off.
"""

from __future__ import annotations

import os
import sys


def progress(**kw):
    from tqdm import tqdm
    forced = os.environ.get("NAS_PROGRESS")
    disable = kw.pop("disable", False) or (None if forced is None else forced == "0")
    return tqdm(file=sys.stderr, dynamic_ncols=True, disable=disable, **kw)


def say(message: str) -> None:
    """A phase message that does not break a bar being drawn."""
    from tqdm import tqdm
    tqdm.write(message, file=sys.stderr)
