"""The provenance fields of a latency table that code reads, checked when the table is loaded.

A table's provenance is mostly a record for people, printed as it is. A few of its fields are read,
though: the summary line (``validation.within_10pct``), the extrapolation flags of a predicted table
(``calibration_coverage``), ``latency --json`` (``cross_validation``), a local table's staleness check
(``correction``, ``protocol.clock``). A crafted or damaged value there failed where it was read: a
TypeError traceback out of ``tables show`` or ``latency``, or out of a search after its trials were
written (the chosen network's extrapolation flags). ``check_provenance`` refuses it on load instead,
naming the file and ``provenance.<field>``; fields nothing reads stay free.
"""

from __future__ import annotations

from typing import Any, Callable

from nas.text import control_char, shown as _show
from nas.errors import SpecError
from nas.fsutil import is_finite_number

SIZE_KEYS = ("macs", "params", "layers", "input_side")     # nas.latency.trust.SIZES' ranges
# The clocks a local measurement is timed with (``nas.profiling.measure.CLOCKS`` maps each to its timer): kept
# here, below nas.profiling, so that a table's ``protocol.clock`` is checked on load, naming the file, and the
# staleness check and ``tables validate`` never meet a clock they cannot time with.
CLOCK_NAMES = ("thread", "wall")


def _share(v) -> bool:
    return is_finite_number(v) and 0 <= v <= 1


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _text(v) -> bool:
    return isinstance(v, str)


def _range(v) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(is_finite_number(x) for x in v) and v[0] <= v[1])


def _clock(v) -> bool:
    return isinstance(v, str) and v in CLOCK_NAMES


def _positive_list(v) -> bool:
    return isinstance(v, list) and all(is_finite_number(x) and x > 0 for x in v)


# field -> {subfield: (test, what it must be)}, only what code reads (``mape``, ``networks``, ... are printed as
# they are: a NaN Spearman of a constant validation set is a fact, not damage); None is allowed everywhere
RULES: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "validation": {"within_10pct": (_share, "a number in 0..1")},
    "calibration_coverage": {k: (_range, "a list [low, high] of two finite numbers, low <= high")
                             for k in SIZE_KEYS},
    "correction": {"calibration_measured_ms": (_positive_list, "a list of finite numbers > 0"),
                   "calibration_seed": (_count, "an integer >= 0"), "space": (_text, "text")},
    "protocol": {"clock": (_clock, f"one of {', '.join(CLOCK_NAMES)} (the clock the table was timed with)")},
    "cross_validation": {},
}


def _check_text(value: Any, field: str, refuse: Callable[[str, str, Any], None], depth: int = 0) -> None:
    """No text in the provenance holds a control character other than a newline or tab: ``tables show`` and
    ``latency`` print it (hostile11: ``hardware: "A\\x1b[2J"`` cleared the terminal)."""
    if isinstance(value, str):
        where = control_char(value, allow="\n\t")
        if where:
            refuse(field, f"text without control characters ({where})", value)
    elif isinstance(value, dict) and depth < 64:
        for k, v in value.items():
            name = str(k)[:40]
            name = name.encode("unicode_escape").decode() if control_char(name) else name   # printable in the message
            _check_text(k, f"{field}.{name}", refuse, depth + 1)
            _check_text(v, f"{field}.{name}", refuse, depth + 1)
    elif isinstance(value, list) and depth < 64:
        for i, v in enumerate(value):
            _check_text(v, f"{field}.{i}", refuse, depth + 1)


def check_provenance(prov: dict, file: str, *, text: bool = True) -> None:
    """Refuse a value of a field in ``RULES`` that its reader cannot take (a ``SpecError`` naming
    ``provenance.<field>.<subfield>``). ``text``: also walk every text for control characters (``_check_text``;
    skipped for a table read by ``nas.safeyaml``, which refuses them at load: the walk took as long again as the
    rest of loading a big shipped table)."""
    def refuse(field: str, what: str, v) -> None:
        raise SpecError(f"must be {what}, got {_show(v)}", file=file, field=field)

    for name, rules in RULES.items():
        value = prov.get(name)
        if value is None:
            continue
        field = f"provenance.{name}"
        if not isinstance(value, dict):
            refuse(field, "a mapping", value)
        for sub, (ok, what) in rules.items():
            if value.get(sub) is not None and not ok(value[sub]):
                refuse(f"{field}.{sub}", what, value[sub])
    if text:
        _check_text(prov, "provenance", refuse)
    cov = prov.get("calibration_coverage") or {}
    shares = cov.get("off_unit_share_max")
    if shares is not None:
        if not isinstance(shares, dict):
            refuse("provenance.calibration_coverage.off_unit_share_max", "a mapping of unit to share", shares)
        for unit, s in shares.items():
            if not isinstance(unit, str) or (s is not None and not _share(s)):
                refuse(f"provenance.calibration_coverage.off_unit_share_max.{str(unit)[:40]}",
                       "a number in 0..1 (keyed by unit name)", s)
    corr = prov.get("correction") or {}
    if corr.get("calibration_measured_ms") and corr.get("space") and corr.get("calibration_seed") is None:
        refuse("provenance.correction.calibration_seed", "given with calibration_measured_ms (it drew those "
               "networks)", None)
    for kind, v in (prov.get("cross_validation") or {}).items():
        if isinstance(v, dict) and v.get("per_device") is not None and not isinstance(v["per_device"], dict):
            refuse(f"provenance.cross_validation.{str(kind)[:40]}.per_device", "a mapping of device to error",
                   v["per_device"])
