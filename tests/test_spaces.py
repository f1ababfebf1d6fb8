"""Search spaces: sizes, sampling, decode/encode and DSL round trips, pricing structure."""


import numpy as np
import pytest

from nas.arch import format_net, parse_net, resolve
from nas.errors import SpecError
from nas.spaces import load_space, load_space_file, space_names


def test_fbnet_space_is_the_papers():
    s = load_space("fbnet")
    assert len(s.decisions) == 22 and all(len(d.options) == 9 for d in s.decisions)
    assert s.size() == 9 ** 22
    net = s.decode([0] * 22)
    layers = resolve(net)
    assert layers[0].key == "conv_k3_s2_c16@3x224x224"
    assert [l.block.type for l in layers[-3:]] == ["conv", "gap", "fc"]
    assert layers[-3].block.args.out == 1984 and layers[-1].out_shape == (1000, 1, 1)
    assert len(layers) == 1 + 22 + 3


@pytest.mark.parametrize("name", space_names())
def test_thousand_random_samples_roundtrip(name):
    s = load_space(name)
    rng = np.random.default_rng(0)
    for choices in s.sample(rng, 1000):
        net = s.decode(choices)
        assert parse_net(format_net(net), name=net.name) == net


@pytest.mark.parametrize("name", space_names())
def test_encode_inverts_decode(name):
    s = load_space(name)
    rng = np.random.default_rng(1)
    for choices in s.sample(rng, 20):
        net = s.decode(choices)
        assert s.decode(s.encode(net)) == net


@pytest.mark.parametrize("name", space_names())
def test_factors_reproduce_resolved_layers(name):
    s = load_space(name)
    rng = np.random.default_rng(2)
    for choices in s.sample(rng, 10):
        keys = []
        for f in s.factors:
            idx = np.ravel_multi_index(tuple(choices[d] for d in f.deps), f.shape) if f.deps else 0
            keys += [l.key for l in f.layers[idx]]
        assert keys == [l.key for l in resolve(s.decode(choices))]


def test_sampling_is_seeded():
    s = load_space("fbnet")
    a = s.sample(np.random.default_rng(7), 5)
    b = s.sample(np.random.default_rng(7), 5)
    assert (a == b).all()


def test_bad_space_file(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("name: x\nkind: layerwise\nstem: [conv_k3_s2_c16]\nhead: [gap]\n"
                 "stages: [{c: 16, n: 1, s: 1}]\ncandidates: [ir_k4_e1]\n")
    with pytest.raises(SpecError) as e:
        load_space_file(p)
    assert e.value.file == str(p) and e.value.field == "k"
    p.write_text("name: x\nkind: bogus\n")
    with pytest.raises(SpecError) as e:
        load_space_file(p)
    assert e.value.field == "kind"


def test_decode_rejects_bad_choices():
    s = load_space("fbnet")
    with pytest.raises(SpecError):
        s.decode([9] + [0] * 21)
