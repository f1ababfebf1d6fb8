"""Squeeze-excite declared once (``nas.ops.se``) and hashable block arguments.

The expectations here come from outside the new code: the op keys of the committed
latency tables (written by the code before the SE fields were shared), token tables
and SE widths written out by hand.
"""

import re
from pathlib import Path

import pytest
import torch

from nas.arch import format_block, op_key, parse_block, resolve
from nas.arch.resolve import block_out_shape
from nas.arch.spec import BlockSpec
from nas.arch.yaml_io import net_from_dict
from nas.errors import SpecError
from nas.ops import REGISTRY

TABLES = sorted((Path(__file__).resolve().parents[1] / "latency_tables").glob("*.yaml"))
_KEY = re.compile(r"^  ([a-z][^ :@]*)@(\d+)x(\d+)x(\d+):", re.M)


def _table_keys() -> dict[str, tuple[int, int, int]]:
    keys = {}
    for path in TABLES:
        for m in _KEY.finditer(path.read_text(encoding="utf-8")):
            keys[f"{m.group(1)}@{m.group(2)}x{m.group(3)}x{m.group(4)}"] = tuple(int(v) for v in m.groups()[1:])
    return keys


def test_every_committed_table_key_parses_and_formats_to_itself():
    keys = _table_keys()
    assert len(TABLES) >= 40 and len(keys) > 2000
    se_keys = [k for k in keys if re.search(r"_(se|sem|sd|sa|sg)[\d.a-z]*(_|@)", k)]
    assert {k.split("_")[0] for k in se_keys} >= {"ir", "gb"} and len(se_keys) > 500
    for key, shape in keys.items():
        block = parse_block(key.partition("@")[0])
        assert op_key(block, shape) == key
        block_out_shape(block, shape)


# Token order and defaults as the blocks declared them before the SE fields were shared.
@pytest.mark.parametrize("code,keys,defaults", [
    ("ir", "k s e c m g ge gp a se sem sd sa sg sp xa noskip", {"se": 0.0, "sem": False, "sd": 1, "sa": "", "sg": "sigmoid"}),
    ("er", "k s e c m a se sem sd sa sg noskip", {"se": 0.0, "sem": False, "sd": 1, "sa": "", "sg": "sigmoid"}),
    ("gb", "k s e m c a se sd sa sg", {"se": 0.0, "sd": 4, "sa": "", "sg": "hsigmoid"}),
    ("se", "se sd sa sg", {"se": 0.25, "sd": 1, "sa": "relu", "sg": "sigmoid"}),
])
def test_se_tokens_keep_their_place_and_defaults(code, keys, defaults):
    bt = REGISTRY.get(code)
    assert [t.key for t in bt.tokens] == keys.split()
    assert {t.key: t.default for t in bt.tokens if t.key in defaults} == defaults
    assert bt.token("sg").choices == ("sigmoid", "hsigmoid")


@pytest.mark.parametrize("text", ["ir_k3_s1_e6_c24_se1.5", "er_k3_s1_e4_c24_se2", "gb_k3_s1_m72_c24_se2",
                                  "se_se1.5", "ds_k3_s1_c24_se2"])
def test_se_ratio_checked_alike(text):
    with pytest.raises(SpecError) as e:
        parse_block(text)
    assert e.value.field == "se"


@pytest.mark.parametrize("text", ["ir_k3_s1_e6_c24_se0.25_sd0", "er_k3_s1_e4_c24_se0.25_sd0",
                                  "gb_k3_s1_m72_c24_se0.25_sd0", "se_sd0"])
def test_se_divisor_checked_alike(text):
    with pytest.raises(SpecError) as e:
        parse_block(text)
    assert e.value.field == "sd"


def _se_of(text, in_shape):
    b = parse_block(text)
    m = REGISTRY.get(b.type).build(b.args, in_shape)
    return next(x for x in m.modules() if hasattr(x, "reduce"))


@pytest.mark.parametrize("text,in_shape,channels,reduced,act,gate", [
    ("ir_k3_s1_e6_c24_se0.25", (16, 8, 8), 96, 4, torch.nn.ReLU, torch.nn.Sigmoid),        # int(16/4)
    ("ir_k3_s1_e6_c24_ahswish_se0.25_sem_sd8_sghsigmoid", (16, 8, 8), 96, 24,           # 96/4 -> 24
     torch.nn.Hardswish, torch.nn.Hardsigmoid),
    ("ir_k5_s2_e6_c40_ahswish_se0.25_sd8_sarelu", (24, 8, 8), 144, 8, torch.nn.ReLU, torch.nn.Sigmoid),
    ("er_k3_s1_e8_c32_aswish_se0.25", (24, 8, 8), 192, 6, torch.nn.SiLU, torch.nn.Sigmoid),
    ("gb_k3_s1_m120_c40_se0.25", (40, 8, 8), 120, 32, torch.nn.ReLU, torch.nn.Hardsigmoid),  # 30 -> 32
    ("se_se0.25_sd8", (40, 8, 8), 40, 16, torch.nn.ReLU, torch.nn.Sigmoid),          # 10 -> 8 < 9 -> 16
    ("se_se0.5_sahswish_sghsigmoid", (40, 8, 8), 40, 20, torch.nn.Hardswish, torch.nn.Hardsigmoid),
])
def test_se_width_activation_and_gate_by_hand(text, in_shape, channels, reduced, act, gate):
    se = _se_of(text, in_shape)
    assert (se.reduce.in_channels, se.reduce.out_channels, se.expand.out_channels) == (channels, reduced, channels)
    assert isinstance(se.act, act) and isinstance(se.gate, gate)


def test_list_arguments_become_tuples_so_blocks_hash():
    b = BlockSpec.make("ir", out=24, kernel=[3, 5], expand=6)
    assert b.args.kernel == (3, 5) and hash(b) == hash(parse_block("ir_k3.5_s1_e6_c24"))
    assert format_block(b) == "ir_k3.5_s1_e6_c24"
    assert b.with_args(kernel=[5, 7]).args.kernel == (5, 7)
    with pytest.raises(SpecError) as e:
        BlockSpec.make("ir", out=24, act=["relu"])
    assert e.value.field == "a"


def test_list_valued_yaml_argument_still_works():
    net = net_from_dict({"name": "t", "input_size": 32, "stages": [
        ["conv_k3_s2_c16"], [{"type": "ir", "k": [3, 5], "e": 3, "c": 16, "s": 2, "se": 0.25}]]})
    b = net.stages[1][0]
    assert b.args.kernel == (3, 5) and isinstance(hash(b), int)
    assert format_block(b) == "ir_k3.5_s2_e3_c16_se0.25"
    assert [l.key for l in resolve(net)][1] == "ir_k3.5_s2_e3_c16_se0.25@16x16x16"
