"""nas: hardware-aware neural architecture search for iPhones.

One architecture description (``nas.arch``) flows one way into every consumer:
the torch builder, the op-key list that latency tables use, FLOP/param counts
and the Core ML exporter.
"""

__version__ = "0.1.0"

from nas.coreml_log import install as _quiet_coremltools  # noqa: E402

_quiet_coremltools()   # before any coremltools import: its known harmless Linux messages are logged at import
