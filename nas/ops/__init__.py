"""Block registry: every block type, registered explicitly here.

Adding a block means one module and one line in ``_BLOCK_MODULES``; a test checks
that each listed module registered at least one block.
"""

from importlib import import_module

from nas.ops.registry import REGISTRY, BlockType, Registry, Shape, tok

_BLOCK_MODULES = (
    "nas.ops.conv",
    "nas.ops.mbconv",
    "nas.ops.edge",
    "nas.ops.ghost",
    "nas.ops.fire",
    "nas.ops.darknet",
    "nas.ops.sqnxt",
    "nas.ops.shuffle",
    "nas.ops.condense",
    "nas.ops.eesp",
    "nas.ops.bottleneck",
    "nas.ops.blaze",
    "nas.ops.uib",
)

for _name in _BLOCK_MODULES:
    import_module(_name)

__all__ = ["REGISTRY", "BlockType", "Registry", "Shape", "tok", "BLOCK_MODULES"]
BLOCK_MODULES = _BLOCK_MODULES
