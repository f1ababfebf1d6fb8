"""Runtime regimes: which Core ML model format on which OS a latency table's times describe.

The same network on the same phone runs very differently as a 2020 NeuralNetwork
``.mlmodel`` on iOS 13 (squeeze-excite and h-swish fall off the Neural Engine)
and as the fp16 ML program ``nas export`` writes for iOS 16 and later (both run
on it, small networks take under a millisecond). So the regime is part of a
table's identity, next to device and unit. So is the weight format
(``weights``: fp16, or a ``nas.compress`` compression such as lut4): palettized or
quantized weights are decompressed by the runtime and can run at another speed, so a
table measured with lut4 weights prices lut4 exports and nothing else.
"""

from __future__ import annotations

import re

from nas.compress import FP16, WEIGHT_FORMATS
from nas.errors import NasError

LOCAL_RUNTIMES = {"ort_cpu": "onnxruntime", "torch_cpu": "torch"}
DEFAULT_RUNTIME = "coreml-mlprogram-ios16"     # what `nas export` writes: fp16 ML program, iOS 16+
ARTICLE_RUNTIME = "coreml-neuralnetwork-ios13"  # the article's 2020 regime (.mlmodel on iOS 13)
RUNTIMES = {DEFAULT_RUNTIME: "Core ML ML program (.mlpackage, fp16) on iOS 16 or later: what `nas export` produces",
            ARTICLE_RUNTIME: "Core ML NeuralNetwork .mlmodel on iOS 13 (the 2020 article's regime)"}
_RUNTIME_RE = re.compile(r"coreml-(mlprogram|neuralnetwork)-(ios|macos)\d{1,2}")


def runtime_problem(runtime, unit: str) -> str | None:
    """Why ``runtime`` is not a regime of ``unit``, or None when it is."""
    local = LOCAL_RUNTIMES.get(unit)
    ok = (runtime == local) if local else isinstance(runtime, str) and bool(_RUNTIME_RE.fullmatch(runtime))
    if ok:
        return None
    want = repr(local) if local else ("coreml-<mlprogram|neuralnetwork>-<ios|macos><major>, e.g. "
                                      + ", ".join(RUNTIMES))
    return f"runtime for unit {unit!r} must be {want}; got {runtime!r}"


def regime_for(model_format: str, os_name: str) -> str:
    """The regime of a Core ML ``model_format`` (mlprogram | neuralnetwork) run on ``os_name`` ("iOS 17.5"):
    ML programs on iOS 16 and later share one regime (``coreml-mlprogram-ios16``)."""
    m = re.match(r"\s*(iOS|iPadOS|iPhone OS|macOS)\s+(\d+)", os_name or "")
    if model_format not in ("mlprogram", "neuralnetwork") or not m:
        raise NasError(f"cannot tell the Core ML regime of format {model_format!r} on OS {os_name!r}")
    family = "macos" if m.group(1) == "macOS" else "ios"
    major = int(m.group(2))
    if family == "ios" and model_format == "mlprogram" and major >= 16:
        major = 16
    return f"coreml-{model_format}-{family}{major}"


def weights_problem(weights, unit: str, method: str, runtime) -> str | None:
    """Why ``weights`` cannot be the weight format of a ``method`` table of ``unit`` in ``runtime``, or None.

    fp16 is every table's default; a compressed format needs a measured (or simulated) table of a Core ML
    unit in an ML-program regime: the cost model behind predicted tables was fitted to fp16 timings, the
    local runtimes take no Core ML compression, and the NeuralNetwork format has no compressed-weight ops."""
    if weights == FP16:
        return None
    if not isinstance(weights, str) or weights not in WEIGHT_FORMATS:
        shown = repr(weights) if len(repr(weights)) <= 40 else f"{repr(weights)[:20]}... ({len(repr(weights))} characters)"
        return f"weights must be one of {', '.join(WEIGHT_FORMATS)} (absent: fp16), got {shown}"
    if unit in LOCAL_RUNTIMES:
        return f"weights {weights!r}: unit {unit!r} runs no Core ML weight compression (weights must be fp16)"
    if method == "predicted":
        return (f"weights {weights!r}: predicted tables price fp16 weights only (their cost model was fitted to "
                f"fp16 timings); a table of compressed weights must be measured")
    if not (isinstance(runtime, str) and runtime.startswith("coreml-mlprogram-")):
        return f"weights {weights!r}: compressed weights need an ML program regime (coreml-mlprogram-*), not {runtime!r}"
    return None
