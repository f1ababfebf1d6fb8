"""How well each estimator ranks real trained accuracy, as measured by ``experiments/estimators``.

The figures are read from ``validation.json`` beside this module, which
``experiments/estimators/run.py`` writes (with the commit it ran at); nothing
is recomputed at search time. ``nas search`` prints them and records them in
``summary.json`` so that a result says how far its accuracy score can be trusted.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from nas.fsutil import loads_json

FILE = Path(__file__).parent / "validation.json"


@lru_cache(maxsize=1)
def _load() -> dict:
    try:
        data = loads_json(FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def validation(name: str) -> dict | None:
    """``{"nbmacro": {...}, "zoo": {...}, "source": {...}}`` for estimator ``name``, or None if unmeasured."""
    data = _load()
    figures = (data.get("estimators") or {}).get(name)
    if not isinstance(figures, dict):
        return None
    return dict(figures) | {"source": data.get("source"), "file": data.get("file")}


def describe(name: str) -> str:
    """One line for the search's output."""
    v = validation(name)
    if name == "benchmark":
        return "estimator benchmark: the benchmark's own trained accuracy (a lookup; nothing to validate)"
    if v is None:
        return f"estimator {name}: not validated against trained accuracy (see experiments/estimators)"
    src = v.get("source") or {}
    commit = (src.get("commit") or "?")[:10] + (" + uncommitted changes" if src.get("dirty") else "")
    return (f"estimator {name}: Kendall tau {v['nbmacro']['kendall_tau']:.2f} vs NAS-Bench-Macro trained accuracy "
            f"({v['nbmacro']['n']} nets), {v['zoo']['kendall_tau']:.2f} vs the article's ImageNet top-1 "
            f"({v['zoo']['n']} zoo models); {v.get('file')} at commit {commit}")
