"""Checks that need Core ML itself (macOS): prediction against torch, and MLComputePlan.

On Linux coremltools can convert and read packages but not run them (its native
``libcoremlpython`` is macOS-only); these functions raise ``NasError`` there.

Prediction tolerance: fp16 packages must agree with torch (fp32) within
``0.02 * max|torch| + 1e-3`` on every output value -- fp16 keeps about three
significant digits and errors add up over tens of layers; fp32 packages within
``1e-3 * max|torch| + 1e-5``. Compute plans need coremltools 8.1+ and macOS 14.4+
(``coremltools.models.compute_plan.MLComputePlan``) and describe the Mac they run on,
not an iPhone.
"""

from __future__ import annotations

import platform
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nas.errors import NasError
from nas.export.torch_prep import IMAGENET_MEAN

TOLERANCE = {"fp16": (0.02, 1e-3), "fp32": (1e-3, 1e-5)}  # (relative to max|torch|, absolute)
_DEVICES = {"MLCPUComputeDevice": "cpu", "MLGPUComputeDevice": "gpu", "MLNeuralEngineComputeDevice": "ane"}


def is_macos() -> bool:
    return sys.platform == "darwin"


def _require_macos(what: str) -> None:
    if not is_macos():
        raise NasError(f"{what} needs macOS (Core ML runs there only); this is {platform.system()}")


@dataclass(frozen=True)
class PredictionCheck:
    max_abs_diff: float
    bound: float
    precision: str

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.bound

    def line(self) -> str:
        verdict = "agrees with" if self.ok else "DIFFERS from"
        return (f"Core ML prediction {verdict} torch: max |diff| {self.max_abs_diff:.2e} "
                f"(allowed {self.bound:.2e} for {self.precision})")


def fixed_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A deterministic HxWx3 uint8 test image."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def compare_prediction(result, precision: str, seed: int = 0) -> PredictionCheck:
    """Run the saved package and the traced torch module on the same fixed input."""
    _require_macos("comparing predictions")
    import coremltools as ct
    from PIL import Image

    c, h, w = result.spec.in_channels, *result.spec.input_size
    model = ct.models.MLModel(str(result.path), compute_units=ct.ComputeUnit.CPU_ONLY)
    if result.input_name == "image":
        img = fixed_image(h, w, seed)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
        x = x - torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
        feed = {"image": Image.fromarray(img)}
    else:
        x = torch.from_numpy(np.random.default_rng(seed).standard_normal((1, c, h, w)).astype(np.float32))
        feed = {"input": x.numpy()}
    with torch.no_grad():
        ref = result.module(x).numpy().reshape(-1)
    out = model.predict(feed)
    if "classLabel_probs" in out:
        probs = out["classLabel_probs"]
        got = np.array([probs[label] for label in result.labels], dtype=np.float64)
    else:
        got = np.asarray(out[result.output_names[0]], dtype=np.float64).reshape(-1)
    rel, absolute = TOLERANCE[precision]
    bound = rel * float(np.abs(ref).max()) + absolute
    return PredictionCheck(float(np.abs(got - ref).max()), bound, precision)


@dataclass(frozen=True)
class PlanOp:
    index: int
    type: str
    name: str
    preferred: str | None      # cpu | gpu | ane | None (undetermined)
    supported: tuple[str, ...]


def compute_plan(path: str | Path, compute_units: str = "ALL") -> list[PlanOp]:
    """Per-op preferred and supported devices from ``MLComputePlan`` (non-const ops, program order)."""
    _require_macos("MLComputePlan")
    import coremltools as ct
    from coremltools.models.compute_plan import MLComputePlan

    units = getattr(ct.ComputeUnit, compute_units)
    model = ct.models.MLModel(str(path), compute_units=units)
    plan = MLComputePlan.load_from_path(model.get_compiled_model_path(), compute_units=units)
    if plan.model_structure.program is None:
        raise NasError(f"{path}: not an ML program")
    ops = []
    for op in plan.model_structure.program.functions["main"].block.operations:
        if op.operator_name == "const":
            continue
        usage = plan.get_compute_device_usage_for_mlprogram_operation(op)
        pref = _DEVICES.get(type(usage.preferred_compute_device).__name__) if usage else None
        sup = tuple(_DEVICES.get(type(d).__name__, "?") for d in usage.supported_compute_devices) if usage else ()
        name = op.outputs[0].name if op.outputs else ""
        ops.append(PlanOp(len(ops), op.operator_name, name, pref, sup))
    return ops


def plan_lines(ops: list[PlanOp]) -> list[str]:
    """Device counts and the runs of ops the plan keeps off the Neural Engine."""
    counts = Counter(op.preferred or "undetermined" for op in ops)
    out = ["MLComputePlan (this Mac): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    run: list[PlanOp] = []
    for op in ops + [None]:
        if op is not None and op.preferred in ("cpu", "gpu"):
            run.append(op)
            continue
        if run:
            out.append(f"  off the NE: ops {run[0].index}-{run[-1].index}, first {run[0].type} {run[0].name!r} "
                       f"on {run[0].preferred}")
            run = []
    return out
