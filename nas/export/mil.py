"""Read the MIL program of a saved ML-program package, on any OS.

Core ML prediction and compute plans need macOS, but the model spec is a
protobuf that loads everywhere (``MLModel(path, skip_model_load=True)``). This
module walks ``spec.mlProgram.functions["main"]``: every operation with its
type, output name, output dtype and shape, the shapes of its inputs and the
values of its small constant inputs (groups, strides, dilations, kernel sizes).
Constants are folded into the ops that use them; ``MilOp.index`` counts only
non-const operations, in program order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nas.errors import NasError

# Small const inputs worth keeping by value (weights are kept by shape only).
_VALUE_LIMIT = 64


@dataclass(frozen=True)
class MilOp:
    """One non-const operation of the program's main function."""

    index: int
    type: str
    name: str
    out_dtype: str | None
    out_shape: tuple[int, ...] | None
    in_shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    in_dtypes: dict[str, str | None] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The op type, with convolutions split by their ``groups``: conv | dwconv | gconv."""
        if self.type != "conv":
            return self.type
        groups = int(_first(self.attrs.get("groups"), 1))
        if groups == 1:
            return "conv"
        w = self.in_shapes.get("weight")
        return "dwconv" if w and w[1] == 1 and groups == w[0] else "gconv"


@dataclass(frozen=True)
class MilProgram:
    opset: str
    inputs: dict[str, tuple[str | None, tuple[int, ...] | None]]  # name -> (dtype, shape)
    ops: tuple[MilOp, ...]
    metadata: dict[str, str]
    description: dict[str, str]  # short_description, author, license, version
    input_kinds: dict[str, str]  # input name -> image | multiArray

    def counts(self) -> Counter:
        """Ops by kind (convolutions split into conv/dwconv/gconv)."""
        return Counter(op.kind for op in self.ops)


def _first(value: Any, default: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else default
    return default if value is None else value


def _tensor_type(vtype) -> tuple[str | None, tuple[int, ...] | None]:
    from coremltools.proto import MIL_pb2

    if not vtype.HasField("tensorType"):
        return None, None
    tt = vtype.tensorType
    dtype = MIL_pb2.DataType.Name(tt.dataType)
    dims = []
    for d in tt.dimensions:
        if not d.HasField("constant"):
            return dtype, None
        dims.append(int(d.constant.size))
    return dtype, tuple(dims)


def _immediate(value, dtype: str | None) -> Any:
    """Value of a const's immediate tensor; None for blobs (weights live in weight.bin)."""
    if not value.HasField("immediateValue"):
        return None
    imm = value.immediateValue
    if not imm.HasField("tensor"):
        return None
    t = imm.tensor
    for kind in ("ints", "floats", "bools", "strings", "longInts", "doubles"):
        if t.HasField(kind):
            vals = list(getattr(t, kind).values)
            return vals if len(vals) <= _VALUE_LIMIT else None
    if dtype == "FLOAT16" and t.HasField("bytes") and len(t.bytes.values) <= 2 * _VALUE_LIMIT:  # fp16 scalars and short vectors
        import numpy as np
        return [float(v) for v in np.frombuffer(t.bytes.values, dtype=np.float16)]
    return None


def load_spec(path: str | Path):
    """The protobuf spec of a saved package, without compiling it (works on Linux)."""
    import coremltools as ct

    from nas.mlpackage import read_spec
    p = Path(path)
    if not p.exists():
        raise NasError(f"{p}: no such package")
    try:
        if p.is_dir():      # read-only, and its spec inside the package, not wherever Manifest.json points:
            return read_spec(p)     # coremltools' ModelPackage rewrites Manifest.json when it opens a package
        return ct.models.MLModel(str(p), skip_model_load=True).get_spec()
    except Exception as e:  # coremltools raises plain Exceptions for bad packages
        raise NasError(f"{p}: not a loadable Core ML package ({e})") from None


def read_program(path_or_spec: Any) -> MilProgram:
    """Walk the main function of a saved ML program (a path or an already loaded spec)."""
    spec = load_spec(path_or_spec) if isinstance(path_or_spec, (str, Path)) else path_or_spec
    if spec.WhichOneof("Type") != "mlProgram":
        raise NasError(f"not an ML program (model type {spec.WhichOneof('Type')!r}); export with "
                       f"`nas export`, which writes ML programs only")
    fn = spec.mlProgram.functions["main"]
    block = fn.block_specializations[fn.opset]
    types: dict[str, tuple[str | None, tuple[int, ...] | None]] = {}
    inputs = {}
    for inp in fn.inputs:
        types[inp.name] = inputs[inp.name] = _tensor_type(inp.type)
    consts: dict[str, Any] = {}
    ops = []
    for op in block.operations:
        outs = [(o.name, _tensor_type(o.type)) for o in op.outputs]
        for name, t in outs:
            types[name] = t
        if op.type == "const":
            consts[outs[0][0]] = _immediate(op.attributes["val"], outs[0][1][0])
            continue
        args = {k: tuple(a.name for a in v.arguments if a.name) for k, v in op.inputs.items()}
        attrs = {k: consts[n[0]] for k, n in args.items() if len(n) == 1 and consts.get(n[0]) is not None}
        in_shapes = {k: types.get(n[0], (None, None))[1] for k, n in args.items() if len(n) == 1}
        in_dtypes = {k: types.get(n[0], (None, None))[0] for k, n in args.items() if len(n) == 1}
        name = outs[0][0] if outs else f"op{len(ops)}"
        dtype, shape = outs[0][1] if outs else (None, None)
        ops.append(MilOp(len(ops), op.type, name, dtype, shape, in_shapes, in_dtypes, attrs, args))
    d = spec.description
    kinds = {i.name: i.type.WhichOneof("Type").replace("Type", "") for i in d.input}
    meta = dict(d.metadata.userDefined)
    desc = {"short_description": d.metadata.shortDescription, "author": d.metadata.author,
            "license": d.metadata.license, "version": d.metadata.versionString}
    return MilProgram(fn.opset, inputs, tuple(ops), meta, desc, kinds)
