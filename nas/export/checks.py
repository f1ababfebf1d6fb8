"""Does the exported MIL program compute what the description says? Op counts by kind.

The expectation comes from the description alone: ``block_features`` traces
every resolved layer and counts its torch ops by kind; ``LOWERING`` says which
MIL ops coremltools 9.0 turns each kind into (observed on this project's blocks:
ReLU6 becomes ``clip``, h-swish becomes ``thresholded_relu`` + ``sigmoid_hard``
+ ``mul``, global pooling ``reduce_mean``, PReLU ``prelu`` or
``leaky_relu``). Convolutions are told apart by their
``groups`` attribute: conv (1), dwconv (groups == channels), gconv (others).
BatchNorm is folded into convolutions and reshapes come and go with the
converter's passes, so those are listed but not compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from nas.arch.dsl import parse_net
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError
from nas.export.mil import MilProgram
from nas.ops.features import block_features

# feature kind (nas.ops.features) -> MIL op kinds it lowers to with coremltools 9.0.
LOWERING: dict[str, dict[str, int]] = {
    "conv": {"conv": 1}, "dwconv": {"dwconv": 1}, "gconv": {"gconv": 1}, "linear": {"linear": 1},
    "relu": {"relu": 1}, "relu6": {"clip": 1}, "swish": {"silu": 1}, "sigmoid": {"sigmoid": 1},
    "hsigmoid": {"sigmoid_hard": 1}, "hswish": {"thresholded_relu": 1, "sigmoid_hard": 1, "mul": 1},
    "prelu": {"leaky_relu/prelu": 1}, "leaky": {"leaky_relu/prelu": 1},
    "maxpool": {"max_pool": 1}, "avgpool": {"avg_pool": 1}, "gap": {"reduce_mean": 1},
    "add": {"add": 1}, "mul": {"mul": 1}, "concat": {"concat": 1}, "split": {"split": 1},
    "transpose": {"transpose": 1}, "gather": {"gather": 1},
}
# MIL kinds counted together: coremltools turns a PReLU whose slopes are all equal (as at
# initialization) into leaky_relu, so which one appears depends on the weights.
MERGED = {"prelu": "leaky_relu/prelu", "leaky_relu": "leaky_relu/prelu"}
COMPARED = frozenset(k for v in LOWERING.values() for k in v) | {"softmax"}
NAMES = {"conv": "conv (dense)", "dwconv": "conv (depthwise)", "gconv": "conv (grouped)",
         "clip": "clip (ReLU6)", "reduce_mean": "reduce_mean (global pool, SE squeeze)",
         "mul": "mul (SE scale, h-swish, input scale)", "sigmoid_hard": "sigmoid_hard (h-sigmoid, h-swish)"}


def expected_counts(spec: NetSpec, *, image_input: bool, normalize: str, classifier: bool) -> Counter:
    """MIL op kinds the export of ``spec`` should contain, counted from the description."""
    out: Counter = Counter()
    for layer in resolve(spec):
        for kind, n in block_features(layer.block, layer.in_shape).kinds:
            for mil, m in LOWERING.get(kind, {}).items():
                out[mil] += n * m
    if image_input:           # ImageType scale (one mul) and per-channel bias (one add)
        out["mul"] += 1
        out["add"] += 1
    if normalize == "mul":    # 1/std as a first op (networks not starting with a plain conv)
        out["mul"] += 1
    if classifier:
        out["softmax"] += 1
    return +out


@dataclass(frozen=True)
class CountCheck:
    expected: Counter
    found: Counter
    mismatches: tuple[tuple[str, int, int], ...]      # (MIL kind, expected, found)
    not_compared: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def lines(self) -> list[str]:
        if self.ok:
            compared = sum(self.expected.values())
            out = [f"op counts match the description ({compared} ops of {len(self.expected)} kinds compared)"]
        else:
            out = [f"op counts DIFFER from the description in {len(self.mismatches)} kind(s):"]
            out += [f"  {NAMES.get(k, k)}: description {e}, MIL program {f}" for k, e, f in self.mismatches]
        if self.not_compared:
            out.append("  not compared (folded, layout or compressed-weight ops): " +
                       ", ".join(f"{k} {n}" for k, n in sorted(self.not_compared.items())))
        return out

    def to_json(self) -> dict:
        return {"ok": self.ok, "expected": dict(sorted(self.expected.items())),
                "found": dict(sorted((k, v) for k, v in self.found.items() if k in COMPARED)),
                "mismatches": [{"kind": k, "expected": e, "found": f} for k, e, f in self.mismatches],
                "not_compared": dict(sorted(self.not_compared.items()))}


def spec_from_metadata(program: MilProgram) -> NetSpec:
    dsl = program.metadata.get("nas.dsl")
    if not dsl:
        raise NasError("the package has no nas.dsl metadata (not exported by `nas export`); pass the "
                       "architecture to compare with")
    return parse_net(dsl, name=program.metadata.get("nas.architecture", "net"))


def check_counts(program: MilProgram, spec: NetSpec | None = None) -> CountCheck:
    """Compare the program's op kinds with the description (from the package metadata by default)."""
    meta = program.metadata
    spec = spec or spec_from_metadata(program)
    image = meta.get("nas.input", "image" if "image" in program.input_kinds.values() else "tensor") == "image"
    expected = expected_counts(spec, image_input=image, normalize=meta.get("nas.normalize", "none"),
                               classifier=meta.get("nas.classifier") == "true")
    found = Counter()
    for k, n in program.counts().items():
        found[MERGED.get(k, k)] += n
    kinds = sorted(set(expected) | {k for k in found if k in COMPARED})
    mismatches = tuple((k, expected.get(k, 0), found.get(k, 0)) for k in kinds
                       if expected.get(k, 0) != found.get(k, 0))
    rest = Counter({k: n for k, n in found.items() if k not in COMPARED})
    return CountCheck(expected, found, mismatches, rest)
