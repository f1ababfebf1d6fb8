"""Silence coremltools' known, harmless import-time messages on Linux, and only those.

Importing coremltools off macOS logs (through its ``coremltools`` logger) that the
installed torch "has not been tested", that its scikit-learn converter is disabled
for this scikit-learn, and eight "Failed to load _ML...Proxy: No module named
'coremltools.libcoremlpython'" lines: the native Core ML bindings exist only on
macOS, and nas uses them only there (``nas.export.macos``), never the scikit-learn
converter, and checks its torch conversions itself. ``install`` adds a filter for
exactly these messages to that logger (before coremltools is imported: the
messages are logged at import); every other coremltools message, and every
``warnings`` warning, still shows. On macOS a failed proxy load is a real
problem and is not hidden.

``quiet_progress`` also stops the tqdm bars coremltools draws on every conversion
(its torch frontend, each MIL pass pipeline, and the weight-compression passes and weight reader of
``coremltools.optimize.coreml``): inside ``nas export`` or under
``profile-ops``' own bar they would break that bar's line into fragments.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys

KNOWN_HARMLESS = (
    re.compile(r"Torch version \S+ has not been tested with coremltools\."),
    re.compile(r"scikit-learn version \S+ is not supported\. .*Disabling scikit-learn conversion API\."),
)
NO_NATIVE = re.compile(r"Failed to load _ML\w+Proxy: No module named 'coremltools\.libcoremlpython'")


class KnownNoise(logging.Filter):
    """Drops the known harmless coremltools messages (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 -- a malformed record is not ours to judge: let it through
            return True
        if any(p.match(text) for p in KNOWN_HARMLESS):
            return False
        return not (sys.platform != "darwin" and NO_NATIVE.match(text))


def install() -> None:
    """Add the filter to the ``coremltools`` logger once (safe to call again)."""
    logger = logging.getLogger("coremltools")
    if not any(isinstance(f, KnownNoise) for f in logger.filters):
        logger.addFilter(KnownNoise())


@contextlib.contextmanager
def quiet_progress():
    """No coremltools progress bars while converting (a library call should not print)."""
    from coremltools.converters.mil.frontend.torch import ops as torch_ops
    from coremltools.converters.mil.mil.passes import pass_pipeline
    from coremltools.optimize.coreml import _post_training_quantization as ptq, _quantization_passes as qp

    places = ((torch_ops, "_tqdm"), (pass_pipeline, "tqdm"), (ptq, "tqdm"), (qp, "tqdm"))
    saved = [getattr(m, name) for m, name in places]
    for m, name in places:
        setattr(m, name, lambda it, *a, **k: it)
    try:
        yield
    finally:
        for (m, name), old in zip(places, saved):
            setattr(m, name, old)
