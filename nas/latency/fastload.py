"""A fast reader for the entry lines ``save_table`` writes, with the full YAML loader as the fallback.

A big table (100k entries) took tens of seconds through PyYAML, most of it
resolving the tag of every plain scalar by regular expressions. Tables written
by ``save_table`` have one entry per line in a fixed shape::

      ir_k3_s1_e1_c16@16x112x112: {median_ms: 0.084, n: 50, unit_used: ane}

``read_entries`` parses exactly that shape -- an op key (always with ``@``, so
YAML could only read it as text), then ``name: value`` pairs whose values are
decimal numbers (read as YAML reads them), single-quoted text, or single words
(resolved by the safe YAML loader itself, once per distinct word). Any line it does not
recognise, or a duplicate key, makes it return ``None`` and the caller loads
the whole file with the YAML loader, which also gives the precise error.
"""

from __future__ import annotations

import re

import yaml

_LINE = re.compile(r"  ([A-Za-z_][A-Za-z0-9_.\-]*@[A-Za-z0-9_.\-]+): \{(.*)\}")
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): ('[^'\n]*'|[^,\s{}\[\]'\"#&*!|>%@`]+)$")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")                           # a subset of YAML 1.1 ints
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")        # a subset of YAML 1.1 floats
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")


def split(text: str) -> tuple[str, list[str]] | None:
    """The header text and the entry lines, when the file ends with an ``entries:`` block."""
    head, sep, body = text.partition("\nentries:\n")
    if not sep:
        return None
    return head + "\nentries: {}\n", body.splitlines()


def read_entries(lines: list[str]) -> dict | None:
    """The entries mapping of the lines, or None when any line is not in ``save_table``'s shape."""
    words: dict[str, object] = {}
    out: dict = {}
    for line in lines:
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        key, inner = m.groups()
        if key in out:
            return None
        fields = {}
        for part in inner.split(", ") if inner else ():
            p = _PAIR.match(part)
            if p is None or p.group(1) in fields:
                return None
            name, raw = p.groups()
            if _INT.fullmatch(raw):
                value = int(raw)
            elif _FLOAT.fullmatch(raw):
                value = float(raw)
            elif raw[0] == "'":                 # single-quoted text without quotes inside: as written
                value = raw[1:-1]
            elif _WORD.fullmatch(raw):
                if raw not in words:
                    words[raw] = yaml.safe_load(raw)
                value = words[raw]
            else:
                return None
            fields[name] = value
        out[key] = fields
    return out
