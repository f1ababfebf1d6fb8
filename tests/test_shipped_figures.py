"""Committed figures against what they were made from: the predicted iPhone tables and their
cross-validated error regenerated from the calibration files with the shipped command, the LOO summary
re-derived from its own per-model rows, the local validation figures re-derived from its per-network
rows and the committed table, and the held-out article models kept out of calibration.

Nothing here asks the code under test for its expected value: each expectation is a committed file
(compared after regenerating it) or a plain re-computation from the rows a file records.
"""

import json
import math
import statistics
from pathlib import Path

import pytest
import yaml
from scipy.stats import spearmanr

from nas import zoo
from nas.arch import parse_net, resolve
from nas.cli import main
from nas.latency.costmodel.calibdata import DEFAULT_FILES, load_all
from nas.latency.regime import ARTICLE_RUNTIME

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "latency_tables"
CALIBRATION_REPORT = ROOT / "experiments" / "article_speed" / "calibration.json"
LOCAL_VALIDATION = ROOT / "experiments" / "local_validation" / "results.json"

# The article leaves these models' speed rows "[held out]" (shared/reference/mobile-architectures-2020.txt:
# MobileNet v3 small at line 392, FBNet at 963, GhostNet at 1020, EfficientNet-Lite0 at 1168): they are
# the test set of the latency predictions and must never be calibration data.
HELD_OUT = ("mobilenet_v3_small", "fbnet_c", "ghostnet_1_0", "efficientnet_lite0")

# Tolerances for a regenerated table against the committed one: entries are written with 4 significant
# digits, and a fit on another machine (BLAS, scipy) may move the last one.
ENTRY_REL, ENTRY_ABS_MS = 0.005, 1e-4
LOO_APE_PTS, LOO_RHO = 0.5, 0.02


def load(path: Path):
    """A YAML file, safely, with the C loader where PyYAML has it (tables are large)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def predicted_tables(runtime: str = ARTICLE_RUNTIME) -> dict[str, dict]:
    """The committed predicted tables of one regime (``nas tables calibrate`` writes the 2020 one)."""
    out = {}
    for f in sorted(TABLES.glob("iphone*.yaml")):
        data = load(f)
        if data.get("method") == "predicted" and data.get("runtime") == runtime:
            out[f.name] = data
    return out


def _same_entries(name, committed, regen):
    assert set(regen["entries"]) == set(committed["entries"]), (
        f"{name}: op keys differ: {sorted(set(regen['entries']) ^ set(committed['entries']))[:5]}")
    assert regen["overhead"]["median_ms"] == pytest.approx(committed["overhead"]["median_ms"],
                                                           rel=ENTRY_REL, abs=ENTRY_ABS_MS), name
    bad = []
    for key, c in committed["entries"].items():
        r = regen["entries"][key]
        if abs(r["median_ms"] - c["median_ms"]) > ENTRY_REL * c["median_ms"] + ENTRY_ABS_MS \
                or r.get("unit_used") != c.get("unit_used"):
            bad.append((key, c, r))
    assert not bad, (f"{name}: {len(bad)} of {len(committed['entries'])} entries differ from a fresh "
                     f"`nas tables calibrate` (the committed table is stale), e.g. {bad[:3]}")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrate")
    assert main(["tables", "calibrate", "--out-dir", str(out), "--report", str(out / "r.json")]) == 0
    return out


@pytest.mark.slow
def test_regenerated_tables_match_committed(regenerated):
    committed = predicted_tables()
    assert committed, "no predicted iPhone tables committed"
    regen = {f.name: load(f) for f in sorted(regenerated.glob("*.yaml"))}
    assert set(regen) == set(committed), "`nas tables calibrate` writes other tables than are committed"
    for name, c in committed.items():
        r = regen[name]
        cp, rp = c["provenance"], r["provenance"]
        assert rp["calibration_models"] == cp["calibration_models"], name
        assert rp["fitted_parameters"] == pytest.approx(cp["fitted_parameters"], rel=0.01), name
        for k in ("loo_mape_pct", "loo_mape_pct_unit", "loo_mape_pct_overall"):
            if k in cp:
                assert rp[k] == pytest.approx(cp[k], abs=LOO_APE_PTS), (name, k)
        if cp.get("loo_spearman") is not None:
            assert rp["loo_spearman"] == pytest.approx(cp["loo_spearman"], abs=LOO_RHO), name
        _same_coverage(name, cp["calibration_coverage"], rp["calibration_coverage"])
        _same_entries(name, c, r)


def _same_coverage(name, c, r):
    """What the calibration covered (nas.latency.trust): sizes exactly, off-unit shares to 1 point."""
    share = ("off_unit_share_max",)
    assert {k: v for k, v in r.items() if k not in share} == {k: v for k, v in c.items() if k not in share}, name
    assert r["off_unit_share_max"] == pytest.approx(c["off_unit_share_max"], abs=0.01), name


@pytest.mark.slow
def test_regenerated_cross_validation_matches_committed(regenerated):
    committed = json.loads(CALIBRATION_REPORT.read_text())
    regen = json.loads((regenerated / "r.json").read_text())
    assert regen["calibration"] == committed["calibration"]
    assert regen["n_fitted_parameters_total"] == committed["n_fitted_parameters_total"]
    c, r = committed["loo_summary"], regen["loo_summary"]
    assert r["overall_median_ape_pct"] == pytest.approx(c["overall_median_ape_pct"], abs=LOO_APE_PTS)
    assert set(r["per_phone_unit"]) == set(c["per_phone_unit"])
    for key, cv in c["per_phone_unit"].items():
        rv = r["per_phone_unit"][key]
        assert rv["n"] == cv["n"], key
        assert rv["median_ape_pct"] == pytest.approx(cv["median_ape_pct"], abs=LOO_APE_PTS), key
        if cv["spearman"] is not None:
            assert rv["spearman"] == pytest.approx(cv["spearman"], abs=LOO_RHO), key
    key = lambda row: (row["model"], row["phone"], row["unit"])  # noqa: E731
    committed_rows = {key(row): row["predicted_ms"] for row in committed["loo"]}
    assert {key(row) for row in regen["loo"]} == set(committed_rows)
    for row in regen["loo"]:
        assert row["predicted_ms"] == pytest.approx(committed_rows[key(row)], rel=ENTRY_REL), key(row)


def _median_ape(rows):
    return round(statistics.median(abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in rows), 1)


def test_loo_summary_rederived_from_its_rows():
    report = json.loads(CALIBRATION_REPORT.read_text())
    rows, summary = report["loo"], report["loo_summary"]
    assert summary["overall_median_ape_pct"] == _median_ape(rows)
    for unit, s in summary["per_unit"].items():
        sel = [r for r in rows if r["unit"] == unit]
        assert (s["n"], s["median_ape_pct"]) == (len(sel), _median_ape(sel)), unit
    for key, s in summary["per_phone_unit"].items():
        phone, unit = key.split("/")
        sel = [r for r in rows if r["phone"] == phone and r["unit"] == unit]
        assert (s["n"], s["median_ape_pct"]) == (len(sel), _median_ape(sel)), key
        rho = spearmanr([r["measured_ms"] for r in sel], [r["predicted_ms"] for r in sel]).statistic
        assert s["spearman"] == pytest.approx(rho, abs=5e-4), key


def test_table_provenance_quotes_the_committed_cross_validation():
    summary = json.loads(CALIBRATION_REPORT.read_text())["loo_summary"]
    for name, table in predicted_tables().items():
        p = table["provenance"]
        key = f"{table['device']}/{table['unit']}"
        if "loo_mape_pct_overall" in p:
            assert p["loo_mape_pct_overall"] == summary["overall_median_ape_pct"], name
        if key in summary["per_phone_unit"] and "loo_mape_pct" in p:
            assert p["loo_mape_pct"] == summary["per_phone_unit"][key]["median_ape_pct"], name
            assert p.get("loo_spearman") == summary["per_phone_unit"][key]["spearman"], name


def test_held_out_article_models_never_enter_calibration():
    rows, _ = load_all(DEFAULT_FILES)
    assert rows
    held = {name: zoo.get(name).spec for name in HELD_OUT}
    for r in rows:
        assert r.model not in held and r.family not in held, (r.source, r.model)
        for name, spec in held.items():  # the same network under another name
            assert not (r.spec.stages == spec.stages and tuple(r.spec.input_size) == tuple(spec.input_size)), \
                (r.source, r.model, name)
    for f in DEFAULT_FILES:  # not even listed (with null times) in the calibration files
        data = load(f)
        assert not set(HELD_OUT) & set(data.get("models") or {}), f
    for name, table in predicted_tables().items():
        assert not set(HELD_OUT) & set(table["provenance"].get("calibration_models", [])), name
    report = json.loads(CALIBRATION_REPORT.read_text())
    for part in ("in_sample", "loo"):
        assert not {r["model"] for r in report[part]} & set(HELD_OUT), part


def test_local_validation_figures_rederived():
    res = json.loads(LOCAL_VALIDATION.read_text())
    nets = res["nets"]
    assert len(nets) == res["samples"]
    table = load(ROOT / res["table"])
    err = []
    for n in nets:
        # the prediction is the committed table's sum for the network's layers
        keys = [layer.key for layer in resolve(parse_net(n["dsl"]))]
        price = table["overhead"]["median_ms"] + sum(table["entries"][k]["median_ms"] for k in keys)
        assert n["predicted_ms"] == pytest.approx(price, abs=1e-3), n["dsl"]
        err.append(n["predicted_ms"] / n["measured_ms"] - 1)
    assert res["within_10pct"] == pytest.approx(sum(abs(e) <= 0.10 for e in err) / len(err), abs=1e-4)
    assert res["mape"] == pytest.approx(statistics.fmean(abs(e) for e in err) * 100, abs=1e-3)
    assert res["bias_pct"] == pytest.approx(statistics.median(err) * 100, abs=1e-3)
    assert res["max_abs_error_pct"] == pytest.approx(max(abs(e) for e in err) * 100, abs=1e-3)
    rho = spearmanr([n["predicted_ms"] for n in nets], [n["measured_ms"] for n in nets]).statistic
    assert res["spearman"] == pytest.approx(rho, abs=1e-4)
    spread = statistics.median((n["p90_ms"] - n["p10_ms"]) / n["measured_ms"] for n in nets) * 100
    assert res["measured_spread_pct"] == pytest.approx(spread, abs=0.01)
    assert not math.isnan(rho)
