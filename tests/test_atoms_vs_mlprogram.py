"""The cost model's atoms against the ML program `nas export` writes (today's regime, coreml-mlprogram-ios16).

Expected values come from the converted package: each network is exported with the project's exporter,
its MIL program read back (ops after coremltools' graph passes) and counted by ``nas.export.atomcheck``;
the cost model's atoms for the same network must then agree exactly -- convolutions by kind, activation
layers by kind and the MIL ops / launches each takes, every other element-wise and layout layer -- apart
from the documented rules R1-R3 (relu fused into the conv before it, views free, input preprocessing in
the per-network overhead) and the two reported mismatches of ``atomcheck.OPEN`` (swish: 1 MIL op, 2
launches priced; h-swish: 3 MIL ops, 2 launches), which must hold to the exact count. Fast subset
unmarked; every zoo model and the search-space sample are ``slow``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nas import zoo
from nas.arch.resolve import resolve
from nas.export import export_package
from nas.export.atomcheck import OPEN, RULES, compare, model_tally, package_tally, probe_nets, unexplained
from nas.export.mil import read_program
from nas.latency.costmodel.atoms import block_atoms, regime_traits, stack
from nas.latency.regime import ARTICLE_RUNTIME, DEFAULT_RUNTIME

FAST = ("mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_1_0", "probe_swish")
PROBES = {n.name: n for n in probe_nets()}


def _spec(name):
    return PROBES[name] if name in PROBES else zoo.get(name).spec


def _check(name, tmp_path):
    res = export_package(_spec(name), tmp_path / f"{name}.mlpackage")
    program = read_program(res.path)
    pkg = package_tally(program)
    # R3: exactly the exporter's input chain -- ImageType scale and bias, the fp16 cast, and a 1/std multiply
    # where it is not folded into the first conv (nas/export/torch_prep.py).
    assert pkg.prep == Counter(mul=1 + (res.normalize == "mul"), add=1, cast=1), pkg.prep
    assert not pkg.unmapped, f"{name}: MIL ops the comparison does not know: {dict(pkg.unmapped)}"
    diffs = compare(pkg, model_tally(res.spec))
    assert unexplained(diffs, pkg) == (), name     # everything but the reported OPEN mismatches agrees exactly
    # A BatchNorm the converter could not fold (after MixConv's concat) is a batch_norm op; the atoms price it as an
    # element-wise layer (BN not right after a conv), so `compare` holds it to the same count ("other:bn").
    assert pkg.other["bn"] == program.counts().get("batch_norm", 0)
    return pkg


@pytest.mark.parametrize("name", FAST)
def test_atoms_match_the_package(name, tmp_path):
    _check(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(zoo.names()) | set(PROBES)))
def test_atoms_match_the_package_everywhere(name, tmp_path):
    _check(name, tmp_path)


def test_hand_counted_package(tmp_path):
    """MobileNetV3-Small counted by hand from Howard et al. 2019, Table 2 (SE as torchvision: not on the last
    1x1 conv, which the zoo follows): stem; bneck 1 (exp 16 = in: no expand conv, SE, ReLU); bnecks 2-3 (ReLU,
    no SE); bnecks 4-11 (h-swish, SE); 1x1 576; pooling; 1x1 1024 (no BN) and the classifier (an FC)."""
    pkg = _check("mobilenet_v3_small", tmp_path)
    # conv: stem 1 + bneck 1 (project 1 + SE 2) + bnecks 2-3 (expand + project, 2 each) + bnecks 4-11 (expand +
    # project + SE 2, 4 each) + 576 + 1024 = 1 + 3 + 4 + 32 + 1 + 1 = 42; one depthwise conv per bneck.
    assert pkg.convs == Counter(conv=42, dwconv=11, linear=1)
    # h-swish: stem + 2 per h-swish bneck (after expand and depthwise) + 576 + 1024 = 19, three MIL ops each.
    assert pkg.acts["hswish"] == 19 and pkg.act_ops["hswish"] == 57
    # ReLU, each straight after a conv (R1): bneck 1 depthwise 1 + bnecks 2-3 2 each + 9 SE reductions = 14.
    assert pkg.fused_relu == 14 and pkg.acts["relu"] == 0
    # 9 SE: squeeze (reduce_mean), gate (hard sigmoid), scale (mul); + the head's global pooling.
    assert pkg.acts["hsigmoid"] == 9 and pkg.other["mul"] == 9 and pkg.other["gap"] == 10
    # residual adds: stride 1 and in == out: bneck 3 (24), 5-6 (40), 8 (48), 10-11 (96) = 6.
    assert pkg.other["add"] == 6


def test_open_mismatches_are_what_the_package_shows(tmp_path):
    """The reported mismatches, shown on the swish probe and MobileNetV3-Small's h-swish: the package's ops per
    layer against the launches the atoms price (atoms.py: 'swish and h-swish two')."""
    for name, kind in (("probe_swish", "swish"), ("mobilenet_v3_small", "hswish")):
        pkg = _check(name, tmp_path)
        mdl = model_tally(_spec(name))
        assert pkg.acts[kind] == mdl.acts[kind] > 0
        assert (pkg.act_ops[kind], mdl.act_ops[kind]) == tuple(n * pkg.acts[kind] for n in OPEN[kind])


def test_rules_are_documented_and_the_regimes_launch_the_same():
    assert set(RULES) == {"R1", "R2", "R3"} and all("atoms.py" in src or "model.py" in src for _, src in RULES.values())
    blocks = [block_atoms(l.block, l.in_shape) for l in resolve(zoo.get("efficientnet_b0").spec)]
    per_atom = np.array([a.launches for b in blocks for a in b], dtype=float)
    for runtime in (ARTICLE_RUNTIME, DEFAULT_RUNTIME):   # no regime changes an atom's launches (no M1 kept)
        assert np.array_equal(stack(blocks, regime_traits(runtime)).launches, per_atom)
    assert {a.launches for b in blocks for a in b if a.kind == "swish"} == {2}   # atoms.py: swish two layers
