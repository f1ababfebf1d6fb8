"""``--train-resolution`` too small for a space is refused before any work; dnas says its notes before training.

Hand computation of the smallest training resolution. Every stride-2 layer of the
shipped spaces uses same padding (``(k - 1) // 2`` for an odd kernel k; a strided
``skip`` is a 1x1 conv), so its output side is ``(in - 1) // 2 + 1 = ceil(in / 2)``;
stride-1 layers keep the side, and ``gap`` makes it 1. ``nas.arch.resolve`` refuses
a stride-2 layer whose input side is under 2. A network with N stride-2 layers
therefore builds at side r exactly when the N-th one sees ``ceil(r / 2**(N-1)) >= 2``,
i.e. ``r > 2**(N-1)``: the smallest side is ``2**(N-1) + 1``.

* fbnet (search_spaces/fbnet.yaml): the stem conv is s2 and the stages of 24, 32, 64
  and 184 channels start with s2 (16, 112, 352: s1): N = 5, smallest 17. At 16 the
  sides run 16 -> 8 -> 4 -> 2 -> 1 and the first layer of the 184 stage meets 1x1.
* mnasnet (search_spaces/mnasnet.yaml): stem conv s2, stages 24, 40, 80, 160 s2: N = 5, 17.
* DEEP below: stem s2 and five s2 stages: N = 6, smallest 2**5 + 1 = 33.
"""

from __future__ import annotations

import time

import pytest
import torch

from nas.cli import main
from nas.errors import NasError
from nas.search.session import SearchConfig, prepare
from nas.spaces import load_space, load_space_file
from nas.spaces.sizes import shape_error_at, smallest_square_side
from tests.search_fixtures import setup, write_table  # noqa: F401 -- fixture

DEEP = """\
name: deep
kind: layerwise
description: six stride-2 layers, for the smallest-resolution test
input_size: 224
stem: [conv_k3_s2_c8]
stages:
  - {c: 8, n: 1, s: 2}
  - {c: 16, n: 2, s: 2}
  - {c: 16, n: 1, s: 2}
  - {c: 24, n: 1, s: 2}
  - {c: 32, n: 2, s: 2}
candidates: [ir_k3_e1, ir_k5_e3, skip]
head: [conv_k1_s1_c32, gap, fc_c10]
"""


@pytest.mark.parametrize("name,smallest", [("fbnet", 17), ("mnasnet", 17)])
def test_shipped_spaces_smallest_side_by_hand(name, smallest):
    space = load_space(name)
    assert shape_error_at(space, (smallest - 1, smallest - 1)) is not None
    assert shape_error_at(space, (smallest, smallest)) is None
    assert smallest_square_side(space, 8, 1024) == smallest


def test_deep_space_smallest_side_by_hand(tmp_path):
    p = tmp_path / "deep.yaml"
    p.write_text(DEEP)
    assert smallest_square_side(load_space_file(p), 8, 1024) == 33


def test_fbnet_supernet_builds_at_17_not_16():
    """The real supernet agrees with the hand count: 16 refused by the builder, 17 runs a forward pass."""
    from nas.search.dnas.supernet import SuperNet, layout_for
    space = load_space("fbnet")
    layout = layout_for(space)
    with pytest.raises(NasError, match="stride 2 on a 1x1"):
        SuperNet(space, layout, (16, 16), num_classes=10)
    net = SuperNet(space, layout, (17, 17), num_classes=10).eval()
    weights = torch.zeros(len(layout.searched), 9)
    weights[:, 0] = 1.0
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 17, 17), weights).shape == (1, 10)


def _no_training(*_a, **_k):
    raise AssertionError("training started: the refusal must come first")


@pytest.mark.parametrize("extra,what", [(["--strategy", "dnas", "--budget", "small"], "the supernet"),
                                        (["--accuracy", "train", "--trials", "4"], "candidates"),
                                        (["--accuracy", "predictor", "--trials", "4"], "candidates")])
def test_too_small_train_resolution_refused_before_work(tmp_path, capsys, monkeypatch, extra, what):
    import nas.search.dnas.session as dnas_session
    import nas.search.session as search_session
    monkeypatch.setattr(dnas_session, "_execute_dnas", _no_training)
    monkeypatch.setattr(search_session, "make_estimator", _no_training)
    out = tmp_path / "o"
    t0 = time.perf_counter()
    rc = main(["search", "--space", "fbnet", "--target-ms", "5", "--train-resolution", "16", "--out", str(out),
               "--no-export", "--no-baselines", *extra])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("nas: error: --train-resolution 16:")
    assert f"{what} of space 'fbnet'" in err and "stride 2 on a 1x1" in err
    assert "use --train-resolution 17 or more" in err
    assert "Traceback" not in err and not out.exists()
    assert time.perf_counter() - t0 < 10


def test_smallest_train_resolution_accepted(setup):  # noqa: F811 -- fixture
    tmp = setup[0]
    for kw in (dict(strategy="dnas"), dict(accuracy="train"), dict(accuracy="predictor")):
        cfg = SearchConfig(space="fbnet", target_ms=5, out=str(tmp / "o"), train_resolution=17, **kw)
        assert prepare(cfg).space.name == "fbnet"
    # an estimator that does not train ignores --train-resolution (the CLI refuses typing it: flagdeps)
    assert prepare(SearchConfig(space="fbnet", target_ms=5, out=str(tmp / "o"), train_resolution=16)).space
    assert not (tmp / "o").exists()


def test_deep_space_refusal_names_33(tmp_path, capsys):
    p = tmp_path / "deep.yaml"
    p.write_text(DEEP)
    table = write_table(load_space_file(p), tmp_path / "iphone11-ane.yaml")
    rc = main(["search", "--space", str(p), "--table", str(table), "--target-ms", "1000", "--accuracy", "train",
               "--train-resolution", "32", "--out", str(tmp_path / "o"), "--no-export", "--no-baselines"])
    err = capsys.readouterr().err
    assert rc == 2 and "space 'deep'" in err and "use --train-resolution 33 or more" in err
    assert not (tmp_path / "o").exists()


def test_dnas_prints_non_binding_note_before_training(setup, capsys, monkeypatch):  # noqa: F811 -- fixture
    """A target far above any network of the tiny space (1000 ms; its synthetic layers cost well under 1 ms
    each) does not bind: the note comes before training starts, and only once."""
    import nas.search.dnas.session as dnas_session
    tmp, space_path, _, table, _ = setup
    seen = {}

    def fake_execute(prep, budget, **_kw):
        seen["before"] = capsys.readouterr().out      # what was printed before training would start
        return {"notes": list(prep.notes) + ["a note of the run"], "best": None, "sweep": None}

    monkeypatch.setattr(dnas_session, "execute_dnas", fake_execute)
    main(["search", "--space", str(space_path), "--table", str(table), "--target-ms", "1000", "--strategy",
          "dnas", "--budget", "small", "--out", str(tmp / "o"), "--no-export", "--no-baselines"])
    after = capsys.readouterr().out
    assert "note: the target does not bind" in seen["before"] and "within 1000 ms" in seen["before"]
    assert "does not bind" not in after and "note: a note of the run" in after


# `nas estimate --accuracy train`: the same rule per architecture. FIVE has a stride-2 stem and four stride-2
# blocks: N = 5, smallest side 2**4 + 1 = 17 (at 16: 16 -> 8 -> 4 -> 2 -> 1, the fifth meets 1x1).
FIVE = "224:conv_k3_s2_c16|ir_k3_s2_e6_c24|ir_k3_s2_e6_c32|ir_k3_s2_e6_c64|ir_k3_s2_e6_c96,gap,fc_c10"


def test_estimate_train_refuses_a_resolution_an_architecture_cannot_take(tmp_path, capsys, monkeypatch):
    from nas.arch import parse_net
    from nas.cli.estimate_cmd import check_buildable
    from nas.search import build

    def no_training(*a, **k):
        raise AssertionError("training started before the resolution was checked")

    monkeypatch.setattr(build, "train_estimator", no_training)
    archs = tmp_path / "a.txt"
    archs.write_text(FIVE + "\n")
    assert main(["estimate", "--archs", str(archs), "--accuracy", "train", "--train-resolution", "16",
                 "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas: error: --train-resolution 16: network ") and "16x16" in err
    assert "stride 2 on a 1x1 feature map" in err
    check_buildable([(FIVE, parse_net(FIVE))], 17)          # the hand-counted smallest side builds
    with pytest.raises(NasError):
        check_buildable([(FIVE, parse_net(FIVE))], 16)


def test_proxy_refuses_a_space_too_deep_for_its_64_pixel_input(tmp_path, capsys):
    """DEEP with one more stride-2 stage: N = 7, smallest side 2**6 + 1 = 65 > the proxy's fixed 64; DEEP
    itself (33) is scored there."""
    deeper = DEEP.replace("name: deep", "name: deeper").replace(
        "  - {c: 32, n: 2, s: 2}", "  - {c: 32, n: 2, s: 2}\n  - {c: 32, n: 1, s: 2}")
    for text, refused in ((deeper, True), (DEEP, False)):
        p = tmp_path / f"{refused}.yaml"
        p.write_text(text)
        space = load_space_file(p)
        assert smallest_square_side(space, 8, 1024) == (65 if refused else 33)
        table = write_table(space, tmp_path / f"iphone11-ane-{refused}.yaml")
        cfg = SearchConfig(space=str(p), target_ms=1000, out=str(tmp_path / "o"), accuracy="proxy", table=str(table))
        if refused:
            with pytest.raises(NasError, match="--accuracy proxy scores networks at a 64x64 input, where space "
                                               "'deeper' cannot be built"):
                prepare(cfg)
        else:
            assert prepare(cfg).space.name == "deep"
    assert not (tmp_path / "o").exists()
