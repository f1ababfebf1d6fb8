"""Control characters in text read from files and flags, found in one place.

A name, URI, label or note that holds a control character means something else to the program than it shows to
a person: ``gs://b`` with a trailing newline is another URI, an escape sequence in a table's provenance runs in
the terminal of whoever prints it (``tables show``), a bidirectional override makes text read in another order
than it is stored. The YAML loader (``nas.safeyaml``), the results importer, the table checks and the Ray flags
refuse such text with ``control_char``'s place of the first one; ``shown`` cuts a long value down for the message
that quotes it. Rank 0 (with ``nas.errors``): it imports
nothing, so every layer can use it.
"""

from __future__ import annotations

import re

# Characters that print as nothing or move the cursor: C0/C1 controls (category Cc: newline, tab, escape, NUL),
# the line and paragraph separators (Zl, Zp), and the bidirectional overrides and isolates that make text read in
# another order than it is stored.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def control_char(text: str, allow: str = "") -> str | None:
    """Where ``text`` holds a control character (see ``CONTROL``), as ``"U+000A at character 7"``; None when it
    holds none. A name, URI or label with one is refused where it is read: it means something else to the
    program than it shows to a person. ``allow``: characters let through (a note's newlines and tabs)."""
    for m in CONTROL.finditer(text):
        if m.group() not in allow:
            return f"U+{ord(m.group()):04X} at character {m.start() + 1}"
    return None


def shown(value, limit: int = 40, head: int = 20) -> str:
    """``repr(value)`` for a message, cut to its first ``head`` characters (and the length) beyond ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:head]}... ({len(text)} characters)"
