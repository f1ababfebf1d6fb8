"""``export_package``: a network description (plus optional weights) to an ``.mlpackage``.

What an iOS developer gets: an ML program (fp16 by default), a fixed 1x3xHxW
RGB image input with ImageNet normalization built in (see
``nas.export.torch_prep``), the classifier output (``classLabel`` and
``classLabel_probs``) when labels are given, else ``logits`` or -- cut before global
pooling -- ``features``, and metadata describing the architecture and its
predicted latency.

Determinism: the same inputs give byte-identical packages, also across
processes. Three things would otherwise differ between runs and are fixed here:
coremltools' conversion date in the metadata (dropped; versions are recorded
instead), the random item identifiers of the package's ``Manifest.json``
(replaced by UUIDs derived from each item's path), and the order in which Python
protobuf writes map fields (re-serialized with ``deterministic=True``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from nas.arch.spec import NetSpec
from nas.compress import COMPRESSIONS, CompressionReport, compress_model, measure, saved_weight_bytes, \
    weight_file_bytes
from nas.export.metadata import find_tables, latency_weights, package_metadata
from nas.export.torch_prep import IMAGENET_MEAN, ExportError, Prepared, prepare
from nas.coreml_log import quiet_progress
from nas.fsutil import existing_place, json_text, loads_json

PRECISIONS = ("fp16", "fp32")
TARGETS = ("iOS16", "iOS17", "iOS18")
_NORMALIZE = {"folded": "folded into the first convolution",
              "mul": "by a first per-channel multiply", "none": "not applied"}
_UUID_NS = uuid.UUID("6f1d3c52-4a52-4b8e-9a7c-2f0e8f1d9c11")


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """How to export. ``device`` picks the latency tables quoted in the metadata."""

    precision: str = "fp16"
    tensor_input: bool = False
    labels: tuple[str, ...] | None = None
    backbone_only: bool = False
    min_target: str = "iOS16"
    seed: int = 0
    device: str = "iphone11"
    license: str = "MIT"
    description: str | None = None
    compress: str | None = None      # a nas.compress.COMPRESSIONS name: weight compression

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ExportError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.min_target not in TARGETS:
            raise ExportError(f"minimum deployment target must be one of {', '.join(TARGETS)} (ML programs "
                              f"with the ops used here), got {self.min_target!r}")
        if self.compress is not None and self.compress not in COMPRESSIONS:
            raise ExportError(f"weight compression must be one of {', '.join(COMPRESSIONS)}, got {self.compress!r}")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    spec: NetSpec                     # what the package computes (cut when backbone_only)
    input_name: str
    output_names: tuple[str, ...]
    normalize: str                    # folded | mul | none
    metadata: dict[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None
    module: Any = field(default=None, repr=False, compare=False)  # the traced torch module
    compression: CompressionReport | None = None


def _convert(prep: Prepared, opts: ExportOptions):
    import coremltools as ct

    c, h, w = prep.spec.in_channels, *prep.spec.input_size
    shape = (1, c, h, w)
    example = torch.rand(shape, generator=torch.Generator().manual_seed(opts.seed))
    with torch.no_grad(), warnings.catch_warnings():
        # jit.trace is deprecated in torch 2.13, but it is coremltools' tested path (torch.export
        # fails on some blocks: shared/reference/coreml-conversion-notes.md).
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(prep.module, example)
    if opts.tensor_input:
        inputs = [ct.TensorType(name="input", shape=shape)]
    else:
        inputs = [ct.ImageType(name="image", shape=shape, scale=1 / 255.0,
                               bias=[-m for m in IMAGENET_MEAN], color_layout=ct.colorlayout.RGB)]
    kwargs = {}
    if prep.classifier:
        kwargs["classifier_config"] = ct.ClassifierConfig(list(opts.labels), predicted_feature_name="classLabel",
                                                          predicted_probabilities_output="probs")
        kwargs["outputs"] = [ct.TensorType(name="probs")]  # the classifier output is classLabel_probs
    else:
        kwargs["outputs"] = [ct.TensorType(name="features" if opts.backbone_only else "logits")]
    precision = ct.precision.FLOAT16 if opts.precision == "fp16" else ct.precision.FLOAT32
    with quiet_progress():
        return ct.convert(traced, inputs=inputs, convert_to="mlprogram", compute_precision=precision,
                          minimum_deployment_target=getattr(ct.target, opts.min_target), **kwargs)


def _fix_manifest(package: Path) -> None:
    """Replace the random item UUIDs of Manifest.json with ones derived from each item's path."""
    path = package / "Manifest.json"
    data = loads_json(path.read_text())
    ids = {old: str(uuid.uuid5(_UUID_NS, entry["path"])).upper()
           for old, entry in data["itemInfoEntries"].items()}
    data["itemInfoEntries"] = {ids[k]: v for k, v in data["itemInfoEntries"].items()}
    data["rootModelIdentifier"] = ids[data["rootModelIdentifier"]]
    path.write_text(json_text(data, indent=4, sort_keys=True) + "\n")


def _sort_spec(package: Path) -> None:
    """Re-serialize model.mlmodel with sorted map fields (Python protobuf otherwise writes maps,
    such as the metadata and op attributes, in an order that changes between processes)."""
    from coremltools.proto import Model_pb2

    path = package / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = Model_pb2.Model()
    spec.ParseFromString(path.read_bytes())
    path.write_bytes(spec.SerializeToString(deterministic=True))


def _save(mlmodel, out: Path) -> None:
    """Save via a sibling temporary folder, then swap it in (readers never see half a package)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staged = tmp / out.name
        mlmodel.save(str(staged))
        _fix_manifest(staged)
        _sort_spec(staged)
        if out.exists():
            out.rename(tmp / "previous")
        staged.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_output_place(out: Path) -> None:
    """Refuse, before converting anything, an output that cannot be written: a path under a file, a
    folder without write permission (tried with a temporary folder that is removed at once)."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a package folder")
    place = existing_place(out)
    if place.exists() and not place.is_dir():
        raise ExportError(f"{out}: cannot write there: {place} is a file, not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=f".{out.name}.probe.", dir=place)
    except OSError as e:
        raise ExportError(f"{out}: cannot write in {place} ({e.strerror})") from None
    os.rmdir(probe)


def export_package(net: NetSpec, out: str | Path, *, weights: str | Path | dict | None = None,
                   options: ExportOptions | None = None, tables: dict | None = None) -> ExportResult:
    """Export ``net`` (random weights from ``options.seed`` unless ``weights``) to ``out``; ``tables``:
    ``find_tables(options.device, options.compress)`` when the caller has already found them (else found here)."""
    opts = options or ExportOptions()
    out = Path(out)
    if out.suffix != ".mlpackage":
        raise ExportError(f"{out}: the output must end in .mlpackage")
    check_output_place(out)
    if tables is None:
        tables = find_tables(opts.device, opts.compress)   # an unknown --device is refused here, before converting
    prep = prepare(net, weights=weights, seed=opts.seed, image_input=not opts.tensor_input,
                   backbone_only=opts.backbone_only, labels=opts.labels, precision=opts.precision)
    mlmodel = _convert(prep, opts)
    meta = package_metadata(net, prep, opts, weights, tables)
    report = None
    if opts.compress:
        original, mlmodel = mlmodel, compress_model(mlmodel, opts.compress)
        report = measure(original, mlmodel, opts.compress)
        meta.update(report.metadata())
        meta["nas.latency_weights"] = latency_weights(tables, opts.compress)
    _describe(mlmodel, prep, opts, meta)
    _save(mlmodel, out)
    if report is not None:
        report = replace(report, bytes_before=saved_weight_bytes(original), bytes_after=weight_file_bytes(out))
    outputs = ("classLabel", "classLabel_probs") if prep.classifier else \
        ("features" if opts.backbone_only else "logits",)
    return ExportResult(out, prep.spec, "input" if opts.tensor_input else "image", outputs,
                        prep.normalize, meta, opts.labels, prep.module, report)


def _describe(mlmodel, prep: Prepared, opts: ExportOptions, meta: dict[str, str]) -> None:
    from coremltools.models.model import _METADATA_CONVERSION_DATE

    spec_name = prep.spec.name
    mlmodel.short_description = opts.description or (
        f"{spec_name}: {'feature extractor' if opts.backbone_only else 'image classifier'} "
        f"exported by nas (hardware-aware architecture search for iPhones)")
    mlmodel.author = "nas"
    mlmodel.license = opts.license
    mlmodel.version = meta["nas.version"]
    ud = mlmodel.user_defined_metadata
    if _METADATA_CONVERSION_DATE in ud:
        del ud[_METADATA_CONVERSION_DATE]
    for k, v in meta.items():
        ud[k] = v
    h, w = prep.spec.input_size
    if opts.tensor_input:
        mlmodel.input_description["input"] = (f"1x{prep.spec.in_channels}x{h}x{w} tensor, already "
                                              f"normalized as the torch model expects")
    else:
        mlmodel.input_description["image"] = (f"RGB image {w}x{h}; ImageNet normalization is built in "
                                              f"(mean by the input bias, 1/std "
                                              f"{_NORMALIZE[prep.normalize]})")
    if prep.classifier:
        mlmodel.output_description["classLabel"] = "most likely class"
        mlmodel.output_description["classLabel_probs"] = "softmax probability of every class"
    elif opts.backbone_only:
        c, fh, fw = meta["nas.output_shape"].split("x")
        mlmodel.output_description["features"] = f"last feature map, 1x{c}x{fh}x{fw}"
    else:
        mlmodel.output_description["logits"] = "class scores before softmax"


def export_mlpackage(net: NetSpec, path: str | Path, precision: str = "fp16", **options: Any) -> ExportResult:
    """Shorthand for ``export_package(net, path, options=ExportOptions(precision=..., **options))``."""
    return export_package(net, path, options=ExportOptions(precision=precision, **options))
