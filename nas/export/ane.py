"""Neural Engine compatibility report: flag ops that leave the NE, group them into islands.

The rules (id, description, source, confidence, level, fix) live in
``ane_rules.yaml``; this module holds one predicate per rule id and refuses a
rule file whose ids do not match. An island is a maximal run of consecutive
flagged ops (in program order, constants left out): the runtime cuts the graph
into NE/GPU/CPU segments there (ane-rules G3), so each island costs at least
one hand-over. This is a prediction from public observations, not a measurement;
``MLComputePlan`` on macOS says what one Mac would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml

from nas.errors import NasError
from nas.export.mil import MilOp, MilProgram

RULES_FILE = Path(__file__).with_name("ane_rules.yaml")
LEVELS = ("definite", "likely", "suspected")
_RNN = {"lstm", "gru", "rnn"}
_UPSAMPLE = {"upsample_nearest_neighbor", "upsample_bilinear", "resize_nearest_neighbor", "resize_bilinear",
             "resize", "crop_resize"}
_NEUTRAL = {"cast", "classify"}  # type conversions at the boundaries; not judged


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    source: str
    confidence: str
    level: str
    fix: str


def _ints(v) -> list[int]:
    return [int(x) for x in v] if isinstance(v, (list, tuple)) else []


def _p1(op: MilOp, prog: MilProgram) -> str | None:
    return "typed fp32" if op.out_dtype in ("FLOAT32", "FLOAT64") else None


def _l1(op: MilOp, prog: MilProgram) -> str | None:
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry
    return None if op.type in SSAOpRegistry.core_ops else f"op type {op.type!r} is not a core MIL op"


def _l2(op, prog):
    return f"{op.type} layer" if op.type in _RNN else None


def _l3(op, prog):
    d = _ints(op.attrs.get("dilations"))
    return f"dilation {max(d)}" if op.type in ("conv", "conv_transpose") and d and max(d) > 1 else None


def _l4(op, prog):
    if op.type not in ("max_pool", "avg_pool", "l2_pool"):
        return None
    k, s = _ints(op.attrs.get("kernel_sizes")), _ints(op.attrs.get("strides"))
    if (k and max(k) > 13) or (s and max(s) > 2):
        return f"kernel {'x'.join(map(str, k))}, stride {'x'.join(map(str, s))}"
    return None


def _l5(op, prog):
    if op.type not in _UPSAMPLE:
        return None
    x, y = op.in_shapes.get("x"), op.out_shape
    if not x or not y or len(x) < 2 or len(y) != len(x):
        return None
    factor = max(y[-1] / x[-1], y[-2] / x[-2])
    return f"factor {factor:g}" if factor > 2 else None


def _l7(op, prog):
    if op.type != "mul":
        return None
    a, b = op.in_shapes.get("x"), op.in_shapes.get("y")
    for big, small in ((a, b), (b, a)):
        if big and small and len(big) == 4 and len(small) == 4 and small[2:] == (1, 1) \
                and big[2] * big[3] > 1 and small[1] == big[1] > 1:
            return f"{'x'.join(map(str, big[1:]))} * {small[1]}x1x1"
    return None


def _l8(op, prog):
    return op.type if op.type.startswith("gather") else None


def _l9(op, prog):
    return "resample (grid_sample)" if op.type == "resample" else None


def _s4(op, prog):
    s = op.out_shape
    if not s or len(s) != 4:
        return None
    limits = (65536, 65536, 16384, 16384)
    bad = [f"{name} {v}" for name, v, lim in zip("NCHW", s, limits) if v > lim]
    return ", ".join(bad) or None


PREDICATES: dict[str, Callable[[MilOp, MilProgram], str | None]] = {
    "P1": _p1, "L1": _l1, "L2": _l2, "L3": _l3, "L4": _l4, "L5": _l5, "L7": _l7, "L8": _l8, "L9": _l9,
    "S4": _s4}


@lru_cache(maxsize=4)
def load_rules(path: str | Path = RULES_FILE) -> tuple[Rule, ...]:
    """The rule list; every rule must have a predicate and every predicate a rule."""
    data = yaml.safe_load(Path(path).read_text())
    rules = []
    for raw in data.get("rules") or []:
        try:
            rule = Rule(**{k: str(raw[k]).strip() for k in Rule.__dataclass_fields__})
        except KeyError as e:
            raise NasError(f"{path}: rule {raw.get('id', '?')} lacks field {e.args[0]!r}") from None
        if rule.level not in LEVELS or rule.confidence not in ("A", "C", "S"):
            raise NasError(f"{path}: rule {rule.id}: level must be one of {LEVELS}, confidence A, C or S")
        rules.append(rule)
    ids = {r.id for r in rules}
    if ids != set(PREDICATES):
        raise NasError(f"{path}: rule ids {sorted(ids)} do not match the checks {sorted(PREDICATES)}")
    return tuple(rules)


@dataclass(frozen=True)
class Finding:
    op: MilOp
    rule: Rule
    detail: str


@dataclass(frozen=True)
class Island:
    ops: tuple[MilOp, ...]
    findings: tuple[Finding, ...]

    @property
    def suspected_only(self) -> bool:
        return all(f.rule.level == "suspected" for f in self.findings)

    @property
    def span(self) -> str:
        a, b = self.ops[0].index, self.ops[-1].index
        return f"op {a}" if a == b else f"ops {a}-{b}"


@dataclass(frozen=True)
class AneReport:
    findings: tuple[Finding, ...]
    islands: tuple[Island, ...]
    preprocessing: tuple[MilOp, ...]   # ImageType scale/bias ops, not judged
    op_count: int

    @property
    def definite_islands(self) -> int:
        return sum(not i.suspected_only for i in self.islands)

    def lines(self) -> list[str]:
        n, sus = len(self.islands), sum(i.suspected_only for i in self.islands)
        head = f"{n} predicted CPU/GPU island(s) in {self.op_count} ops"
        out = [head + (f" ({sus} from suspected rules only)" if sus else "")]
        for k, isl in enumerate(self.islands, 1):
            first = isl.ops[0]
            rules = sorted({f.rule.id for f in isl.findings})
            out.append(f"  island {k}: {isl.span} ({len(isl.ops)} op(s)), first {first.type} {first.name!r}; "
                       f"rule(s) {', '.join(rules)}" + (" [suspected]" if isl.suspected_only else ""))
            for f in isl.findings[:5]:
                out.append(f"    op {f.op.index} {f.op.type} {f.op.name!r}: {f.rule.id} {f.rule.title} ({f.detail})")
            if len(isl.findings) > 5:
                out.append(f"    ... {len(isl.findings) - 5} more flagged op(s)")
        for rule in _rules_used(self.findings):
            out.append(f"  {rule.id} {rule.title} [confidence {rule.confidence}, {rule.level}]: {rule.description}")
            out.append(f"     source: {rule.source}")
            out.append(f"     fix: {rule.fix}")
        if self.preprocessing:
            out.append(f"  not judged: {len(self.preprocessing)} image-input preprocessing op(s) (the ImageType "
                       f"scale and bias, typed fp32 ahead of the model's own ops); no public source says "
                       f"where Core ML runs them")
        return out

    def to_json(self) -> dict:
        return {"ops": self.op_count, "islands": len(self.islands), "definite_islands": self.definite_islands,
                "island_list": [{"first_op": i.ops[0].index, "last_op": i.ops[-1].index,
                                 "ops": [{"index": o.index, "type": o.type, "name": o.name} for o in i.ops],
                                 "rules": sorted({f.rule.id for f in i.findings}),
                                 "suspected_only": i.suspected_only} for i in self.islands],
                "findings": [{"op": f.op.index, "type": f.op.type, "name": f.op.name, "rule": f.rule.id,
                              "detail": f.detail} for f in self.findings],
                "rules": {r.id: {"title": r.title, "source": r.source, "confidence": r.confidence,
                                 "level": r.level, "fix": r.fix} for r in _rules_used(self.findings)},
                "preprocessing_ops": [o.name for o in self.preprocessing]}


def _rules_used(findings) -> list[Rule]:
    seen: dict[str, Rule] = {}
    for f in findings:
        seen.setdefault(f.rule.id, f.rule)
    return sorted(seen.values(), key=lambda r: r.id)


def preprocessing_ops(prog: MilProgram) -> tuple[MilOp, ...]:
    """The leading mul/add ops that apply an image input's scale and bias."""
    chain = {name for name, kind in prog.input_kinds.items() if kind == "image"}
    out = []
    for op in prog.ops:
        if op.type in ("mul", "add") and op.inputs.get("x", ("",))[0] in chain:
            chain.add(op.name)
            out.append(op)
        else:
            break
    return tuple(out)


def ane_report(prog: MilProgram) -> AneReport:
    """Apply every rule to every op and group flagged ops into islands."""
    rules = load_rules()
    pre = {op.index for op in preprocessing_ops(prog)}
    findings = []
    for op in prog.ops:
        if op.index in pre or op.type in _NEUTRAL:
            continue
        for rule in rules:
            detail = PREDICATES[rule.id](op, prog)
            if detail:
                findings.append(Finding(op, rule, detail))
    flagged = {f.op.index for f in findings}
    islands, run = [], []
    for op in prog.ops:
        if op.index in flagged:
            run.append(op)
        elif run:
            islands.append(run)
            run = []
    if run:
        islands.append(run)
    by_op: dict[int, list[Finding]] = {}
    for f in findings:
        by_op.setdefault(f.op.index, []).append(f)
    return AneReport(tuple(findings),
                     tuple(Island(tuple(r), tuple(f for o in r for f in by_op[o.index])) for r in islands),
                     tuple(op for op in prog.ops if op.index in pre), len(prog.ops))
