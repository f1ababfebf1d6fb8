"""nas: hardware-aware neural architecture search for iPhones.

One architecture description (``nas.arch``) flows one way into every consumer:
the torch builder, the op-key list that latency tables use, FLOP/param counts
and the Core ML exporter.
"""

__version__ = "0.1.0"
