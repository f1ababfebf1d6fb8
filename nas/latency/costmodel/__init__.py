"""Calibrated per-op cost model for iPhones (CPU, GPU, Neural Engine) and its predicted tables.

Modules: ``atoms`` (what Core ML launches per block, ANE fallback rules),
``priors`` (published chip figures), ``model`` (the roofline form),
``calibdata`` (measured whole-model timings), ``fit`` (MAP fit, cross-validation),
``tables`` and ``calibrate`` (predicted tables, one-call refit).
"""

from nas.latency.costmodel.atoms import ANE_RULES, Atom, atoms_of, block_atoms
from nas.latency.costmodel.calibrate import calibrate, format_report

__all__ = ["ANE_RULES", "Atom", "atoms_of", "block_atoms", "calibrate", "format_report"]
