"""Architecture description: spec classes, DSL, YAML, shapes, counts, torch builder."""

from nas.arch.dsl import format_block, format_net, parse_block, parse_net
from nas.arch.resolve import Layer, op_key, op_keys, resolve
from nas.arch.spec import BlockSpec, NetSpec

__all__ = ["BlockSpec", "NetSpec", "Layer", "parse_block", "format_block", "parse_net",
           "format_net", "resolve", "op_key", "op_keys"]
