"""A plain Core ML export of a network: ``torch.jit.trace`` + ``coremltools.convert`` to an ML program.

Follows the conversion facts in the project's Core ML notes: trace at the
network's own static input shape, ``convert_to="mlprogram"`` with an iOS 16
deployment target, fp16 compute precision by default. Written atomically: the
package is built beside the destination and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from nas.arch.spec import NetSpec
from nas.errors import NasError

PRECISIONS = ("fp16", "fp32")


def export_mlpackage(net: NetSpec, path: str | os.PathLike, precision: str = "fp16", *, seed: int = 0) -> Path:
    """Convert ``net`` (freshly initialized weights from ``seed``) to an ``.mlpackage`` at ``path``."""
    import coremltools as ct
    import torch

    from nas.arch.build import build

    if precision not in PRECISIONS:
        raise NasError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    path = Path(path)
    torch.manual_seed(seed)
    model = build(net).eval()
    example = torch.rand(1, net.in_channels, *net.input_size)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    mlmodel = ct.convert(
        traced, convert_to="mlprogram", inputs=[ct.TensorType(name="image", shape=tuple(example.shape))],
        outputs=[ct.TensorType(name="output")],
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32)
    mlmodel.short_description = f"{net.name}: {net}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        staged = tmp / path.name
        mlmodel.save(str(staged))
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(staged, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
