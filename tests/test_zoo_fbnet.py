"""FBNet-A/B/C: 22 searchable layers from FBNet's nine candidates, plus stem and head."""

import re

import pytest

from nas import zoo
from nas.arch import format_block
from nas.arch.resolve import resolve

# FBNet's candidate blocks (Wu et al. 2019, Table 2) as canonical DSL strings.
CANDIDATE = re.compile(r"^(ir_k[35]_s[12]_e(1_c\d+(_g2)?|[36]_c\d+)|skip_s[12]_c\d+)$")
MACRO = [(16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1)]
HEAD = {"fbnet_a": 1504, "fbnet_b": 1984, "fbnet_c": 1984}  # FBNet-A's head is 1504 in mobile-vision


@pytest.mark.parametrize("name", sorted(HEAD))
def test_fbnet_is_22_candidate_layers_plus_stem_and_head(name):
    spec = zoo.get(name).spec
    ops = [format_block(b) for b in spec.blocks]
    assert ops[0] == "conv_k3_s2_c16"
    assert ops[-3:] == [f"conv_k1_s1_c{HEAD[name]}", "gap", "fc_c1000"]
    searchable = ops[1:-3]
    assert len(searchable) == 22
    bad = [op for op in searchable if not CANDIDATE.match(op)]
    assert not bad, bad
    assert all(b.repeats == 1 for b in spec.blocks)


@pytest.mark.parametrize("name", sorted(HEAD))
def test_fbnet_follows_the_macro_architecture(name):
    spec = zoo.get(name).spec
    stages = spec.stages[1:-1]
    assert len(stages) == len(MACRO)
    for stage, (channels, n, first_stride) in zip(stages, MACRO):
        assert len(stage) == n
        assert [b.args.out for b in stage] == [channels] * n
        assert [b.args.stride for b in stage] == [first_stride] + [1] * (n - 1)
    layers = resolve(spec)
    assert layers[-3].in_shape == (352, 7, 7)


def test_fbnet_b_and_c_are_points_of_the_fbnet_space():
    # Same candidates as the space (no expansion conv at e1, as mobile-vision/timm); FBNet-A's
    # 1504-channel head is outside the space, whose head is FBNet-B/C's 1984.
    from nas.spaces import load_space
    space = load_space("fbnet")
    for name in ("fbnet_b", "fbnet_c"):
        spec = zoo.get(name).spec
        choices = space.encode(spec)
        assert choices is not None and space.decode(choices).stages == spec.stages
    assert space.encode(zoo.get("fbnet_a").spec) is None
    blocks = [b for n in HEAD for b in zoo.get(n).spec.blocks if b.type == "ir"]
    assert all(b.args.act == "relu" and b.args.se == 0 and not b.args.expand_always for b in blocks)
    assert any(b.args.groups == 2 for b in blocks)  # FBNet-A uses the grouped candidates
