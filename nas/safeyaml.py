"""The one YAML loader for every file ``nas`` reads: safe, strict, and bounded.

Built on PyYAML's safe constructors (libyaml's ``CSafeLoader`` when PyYAML has it: about 10x faster on
big tables, see benchmarks/bench_table_load.py), so no tag in a file can build a Python object or run
code. On top of that it refuses what plain ``safe_load`` accepts silently:

- a duplicate mapping key (``safe_load`` keeps the last one: a file could say two things at once);
- an alias of a list or mapping, or a recursive one (``&a [*a, *a]`` nested nine deep is the "billion
  laughs": a few hundred bytes that expand to 10^9 items once anything walks the data). Aliases of
  plain values (a quoted source used twice, as calibration/apple_soc_specs.yaml does) stay allowed;
- nesting deeper than the recursion limit (``[[[[...]]]]``): a ``yaml.YAMLError``, not a
  ``RecursionError``;
- values that are not JSON's (``!!binary`` bytes, a ``!!set``, ``!!omap``/``!!pairs``): every file ``nas``
  reads holds text, numbers, booleans, null, lists and mappings, and what it reads is printed as JSON
  (``tables show --json``) or copied into JSON results; such a value failed there, after the load. An
  unquoted date (``date: 2026-11-28``, which ``safe_load`` makes a ``datetime.date``) is kept as the text
  written, as the quoted ``'2026-11-28'`` the tables are written with;
- text holding a control character other than a newline or tab (``"\\x1b[2J"``, NUL, a bidirectional
  override; ``nas.text.CONTROL``): names and notes are printed to the terminal, where an escape sequence
  runs (hostile11: a space's or network's ``name`` cleared the screen in ``spaces show``, ``arch show``).

Every failure is a ``yaml.YAMLError``; callers turn it into a ``SpecError`` naming the file.
"""

from __future__ import annotations

from typing import Any

import yaml

from nas.text import control_char

_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeBase):
    """Safe loader with unique keys and no collection aliases (see the module doc).

    Tag resolution of plain scalars (a chain of regular expressions per value, most of the load
    time of a big table) is memoized per load: the same text always resolves to the same tag."""

    def __init__(self, stream):
        super().__init__(stream)
        self._tags: dict = {}

    def resolve(self, kind, value, implicit):
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_object(self, node, deep=False):
        if not isinstance(node, yaml.ScalarNode) and (node in self.constructed_objects
                                                      or node in self.recursive_objects):
            raise yaml.constructor.ConstructorError(
                None, None, "an alias of a list or mapping is not allowed (it can expand a small file into a "
                "huge one)", node.start_mark)
        return super().construct_object(node, deep)


def _construct_mapping(loader, node, deep=False):
    seen = set()
    loader.flatten_mapping(node)
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue                    # a list or mapping as a key: refused by the checks after
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {str(key)[:60]!r}",
                                                    key_node.start_mark)
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)


def _text(loader, node):
    value = loader.construct_scalar(node)
    where = control_char(value, allow="\n\t")
    if where:
        raise yaml.constructor.ConstructorError(
            None, None, f"text with a control character ({where} of {value[:40]!r}) is not allowed", node.start_mark)
    return value


def _not_json(loader, node):
    raise yaml.constructor.ConstructorError(
        None, None, f"a value tagged !!{node.tag.rsplit(':', 1)[-1]} is not allowed: nas files hold text, numbers, "
        "booleans, null, lists and mappings", node.start_mark)


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
StrictLoader.add_constructor("tag:yaml.org,2002:str", _text)
for _tag in ("binary", "set", "omap", "pairs"):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)


def load(text: str) -> Any:
    """The data of a YAML document; ``yaml.YAMLError`` for anything malformed or refused above."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
