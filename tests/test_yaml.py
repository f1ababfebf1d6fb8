"""YAML form: both block forms, and errors that name file, layer and field."""

import pytest

from nas.arch.yaml_io import dump_net, load_net, net_from_dict
from nas.errors import SpecError


def write(tmp_path, text):
    p = tmp_path / "net.yaml"
    p.write_text(text)
    return p


def test_mapping_and_string_blocks(tmp_path):
    p = write(tmp_path, "name: t\ninput_size: 32\nstages:\n  - [conv_k3_s2_c8]\n"
                        "  - [{type: ir, r: 2, k: [3, 5], e: 3, c: 16, s: 2}]\n")
    net = load_net(p)
    assert str(net) == "32:conv_k3_s2_c8|ir_r2_k3.5_s2_e3_c16"
    assert load_net(write(tmp_path, dump_net(net))) == net


@pytest.mark.parametrize("text,layer,field", [
    ("name: t\ninput_size: 32\nstages:\n  - [conv_k3_s2_c8]\n  - [ir_k3_c16_q1]\n", "1.0", "q1"),
    ("name: t\ninput_size: 32\nstages:\n  - [{type: ir, c: 8, k: 3, zz: 1}]\n", "0.0", "zz"),
    ("name: t\ninput_size: 32\nstages:\n  - [{type: ir, c: eight}]\n", "0.0", "c"),
    ("name: t\ninput_size: 32\nstages:\n  - [{type: bogus, c: 8}]\n", "0.0", "type"),
    ("name: t\ninput_size: big\nstages:\n  - [conv_c8]\n", None, "input_size"),
    ("name: t\ninput_size: 32\n", None, "stages"),
])
def test_errors_name_file_layer_field(tmp_path, text, layer, field):
    p = write(tmp_path, text)
    with pytest.raises(SpecError) as e:
        load_net(p)
    assert e.value.file == str(p) and e.value.layer == layer and e.value.field == field


def test_malformed_yaml_names_file_and_line(tmp_path):
    p = write(tmp_path, "name: t\nstages: [[conv_c8]\n")
    with pytest.raises(SpecError) as e:
        load_net(p)
    assert str(p) in str(e.value) and "line" in str(e.value)


def test_not_a_mapping():
    with pytest.raises(SpecError):
        net_from_dict(["a"])
