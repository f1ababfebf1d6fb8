"""Every zoo model builds, runs at its input size and matches the article's parameter count."""


import pytest
import torch

from nas import zoo
from nas.arch import format_net, parse_net
from nas.arch.build import build
from nas.arch.counts import count

NAMES = zoo.names()


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip(name):
    spec = zoo.get(name).spec
    assert parse_net(format_net(spec), name=name) == spec


@pytest.mark.parametrize("name", NAMES)
def test_forward_at_input_size(name):
    spec = zoo.get(name).spec
    model = build(spec).eval()
    with torch.no_grad():
        y = model(torch.randn(1, spec.in_channels, *spec.input_size))
    assert torch.isfinite(y).all()


def _rounding_halfwidth(value: float) -> float:
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals


@pytest.mark.parametrize("name", [n for n in NAMES if zoo.get(n).article.get("params_m")])
def test_params_match_article(name):
    m = zoo.get(name)
    c = count(m.spec)
    quoted = m.article["params_m"]
    convention = m.article.get("params_counted", "all")
    if convention.startswith("backbone"):
        b = count(zoo.backbone(m))
        c = b
        convention = convention.replace("backbone", "").strip("_") or "all"
    ours = {"all": c.params, "no_bn": c.params_no_bn}.get(convention)
    assert ours is not None, f"unknown params_counted {convention!r}"
    gap = m.article.get("params_discrepancy")
    if gap:
        # A documented, explained mismatch with the quoted figure (the architecture follows the
        # reference code): the gap must stay exactly what the zoo file says and stay small.
        assert gap["reason"] and abs(gap["ours_vs_quoted_pct"]) < 15
        assert abs((ours / 1e6 - quoted) / quoted * 100 - gap["ours_vs_quoted_pct"]) < 0.01, ours
        return
    assert abs(ours / 1e6 - quoted) <= _rounding_halfwidth(quoted) + 1e-9, (ours, quoted)


def test_listing_has_required_fields():
    from nas.cli.zoo_cmd import zoo_rows
    rows = zoo_rows()
    assert {r["name"] for r in rows} == set(NAMES)
    for r in rows:
        assert r["params"] > 0 and r["macs"] > 0 and len(r["input_size"]) == 2
