"""Weight compression of a Core ML ML program (export, profiling bundles), and what it measurably did.

Why it exists: an fp16 package's weights are most of what an app ships (MobileNetV2: 7 MB), and Core ML
runs compressed weights from iOS 16 on (``constexpr_affine_dequantize``, ``constexpr_lut_to_dense``).
coremltools' data-free post-training compression does the work (``linear_quantize_weights``,
``palettize_weights``); this module picks its settings by one name and measures two things here: the
weight file's bytes before and after, and the weight error (signal-to-quantization-noise ratio of the
tensors it compressed, from coremltools' own ``decompress_weights``). It does not know what compression
does to accuracy (that needs data and, for Core ML's own prediction, macOS) or to latency (only a table
measured on a phone with the same compression prices that: ``nas profile-ops --compress``); the caller says
so wherever it prints a figure. It sits low in the layers (rank 2) because export, profiling bundles and the
latency tables' weight format (``WEIGHT_FORMATS``) all share it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas.coreml_log import quiet_progress

THRESHOLD = 2048   # tensors with fewer elements stay fp16 (coremltools' default weight_threshold)
_SUFFIXES = ("_palettized", "_quantized")


@dataclass(frozen=True)
class Compression:
    name: str
    what: str
    kind: str          # linear | palette
    nbits: int


COMPRESSIONS = {c.name: c for c in (
    Compression("int8", "8-bit linear (symmetric, one scale per output channel)", "linear", 8),
    Compression("lut8", "8-bit palette (k-means, one 256-entry table per tensor)", "palette", 8),
    Compression("lut6", "6-bit palette (k-means, one 64-entry table per tensor)", "palette", 6),
    Compression("lut4", "4-bit palette (k-means, one 16-entry table per tensor)", "palette", 4),
)}
FP16 = "fp16"                                   # no compression: what every shipped table prices
WEIGHT_FORMATS = (FP16, *COMPRESSIONS)          # a latency table's / bundle's ``weights``


@dataclass(frozen=True)
class CompressionReport:
    """What a compression did, measured on this package."""

    name: str
    what: str
    tensors: int               # weight tensors of at least THRESHOLD elements
    compressed: int            # of those, how many were compressed
    bytes_before: int          # weight.bin of the uncompressed package (0 until saved)
    bytes_after: int           # weight.bin of the written package (0 until saved)
    sqnr_db: float             # over every compressed tensor together (inf: lossless)
    worst_sqnr_db: float
    worst_tensor: str

    def line(self) -> str:
        ratio = self.bytes_before / self.bytes_after if self.bytes_after else float("inf")
        return (f"weights {self.name} ({self.what}): {self.compressed} of {self.tensors} tensors of >= {THRESHOLD} "
                f"elements; weight.bin {self.bytes_before / 1e6:.2f} -> {self.bytes_after / 1e6:.2f} MB "
                f"({ratio:.1f}x smaller, measured); weight SQNR {_db(self.sqnr_db)} overall, worst "
                f"{_db(self.worst_sqnr_db)} ({self.worst_tensor})")

    def metadata(self) -> dict[str, str]:
        """The package's own record of it (strings: Core ML's user-defined metadata; the exporter adds
        ``nas.latency_weights``, which weights its latency figures price)."""
        return {"nas.compression": f"{self.name}: {self.what}, tensors of >= {THRESHOLD} elements "
                                   f"({self.compressed} of {self.tensors}), coremltools post-training, no data",
                "nas.compression_weight_sqnr_db": _db(self.sqnr_db)}

    def to_json(self) -> dict:
        return {"name": self.name, "what": self.what, "threshold_elements": THRESHOLD, "tensors": self.tensors,
                "compressed": self.compressed, "weight_bytes_before": self.bytes_before,
                "weight_bytes_after": self.bytes_after, "sqnr_db": _num(self.sqnr_db),
                "worst_sqnr_db": _num(self.worst_sqnr_db), "worst_tensor": self.worst_tensor}


def _db(v: float) -> str:
    return "lossless" if v == float("inf") else f"{v:.1f} dB"


def _num(v: float) -> float | None:
    return None if v == float("inf") else round(v, 3)


def compress_model(mlmodel, name: str):
    """``mlmodel`` (an ML program) with its large weights compressed as ``name`` says."""
    import coremltools.optimize.coreml as cto

    c = COMPRESSIONS[name]
    if c.kind == "linear":
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                         weight_threshold=THRESHOLD)
        fn = cto.linear_quantize_weights
    else:
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=c.nbits, granularity="per_tensor",
                                    weight_threshold=THRESHOLD)
        fn = cto.palettize_weights
    with quiet_progress():
        return fn(mlmodel, config=cto.OptimizationConfig(global_config=op))


def _weights(mlmodel) -> dict[str, np.ndarray]:
    import coremltools.optimize.coreml as cto

    with quiet_progress():
        meta = cto.get_weights_metadata(mlmodel, weight_threshold=THRESHOLD)
    return {key: np.asarray(m.val, dtype=np.float64) for key, m in meta.items()}


def sqnr_db(signal: float, noise: float) -> float:
    """10 log10(signal power / noise power); inf when the noise is zero."""
    return float("inf") if noise == 0 else 10.0 * float(np.log10(signal / noise))


def measure(original, compressed, name: str) -> CompressionReport:
    """Compare the compressed program's weights, decompressed by coremltools, with the original's.

    coremltools names a compressed tensor after the original with a suffix (``_palettized``,
    ``_quantized``), which is how the pairs are found; a tensor without one was left as it was."""
    import coremltools.optimize.coreml as cto

    before = _weights(original)
    with quiet_progress():
        restored = _weights(cto.decompress_weights(compressed))
    sig = noise = 0.0
    worst, worst_name, squeezed = float("inf"), "-", 0
    for key, val in sorted(restored.items()):
        base = next((key.removesuffix(s) for s in _SUFFIXES if key.endswith(s)), None)
        if base is None or base not in before or before[base].shape != val.shape:
            continue
        s, n = float(np.sum(before[base] ** 2)), float(np.sum((before[base] - val) ** 2))
        sig, noise, squeezed = sig + s, noise + n, squeezed + 1
        if sqnr_db(s, n) < worst:
            worst, worst_name = sqnr_db(s, n), base
    return CompressionReport(name, COMPRESSIONS[name].what, len(before), squeezed, 0, 0, sqnr_db(sig, noise),
                             worst, worst_name)


def weight_file_bytes(package: str | Path) -> int:
    """Size of a package's weight file (0 for a package without one)."""
    path = Path(package) / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    return path.stat().st_size if path.exists() else 0


def saved_weight_bytes(mlmodel) -> int:
    """Size of the weight file ``mlmodel`` would be saved with. An ML program's ``save`` copies its package
    folder (``package_path``, where the converter has already written the weights), so that folder's weight
    file is the one saved; a model without one is saved to a temporary folder to measure it."""
    package = getattr(mlmodel, "package_path", None)
    if package and Path(package).is_dir():
        return weight_file_bytes(package)
    tmp = Path(tempfile.mkdtemp(prefix="nas-weights-"))
    try:
        mlmodel.save(str(tmp / "m.mlpackage"))
        return weight_file_bytes(tmp / "m.mlpackage")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
