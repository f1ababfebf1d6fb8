"""Figures README.md and docs/*.md quote, recomputed here from their sources and compared with the page.

Why: the pages quote latencies, Kendall taus and cross-validated errors that drift when a table, the cost
model or an experiment is regenerated, and nothing else reads the prose. Each figure is parsed from the
page (a sentence changed so that its figure is no longer found fails the test: update the pattern with the
page) and recomputed without the code path that first produced it:

- a space's fastest / median / slowest latency: each network priced on its own with ``price_net`` (what
  ``nas latency`` prints) from the table file named by path; the per-decision costs are read off networks
  that differ from a base network in one decision, their sum is checked against ``price_net`` on random
  networks (the additivity the docs claim for fbnet and nasbench_macro), and the extremes and medians are
  computed from those costs (not ``SpacePricer``, which the search uses);
- Kendall taus of the default estimator: its formula with the weights the page states, applied to the
  counts and trained accuracies of ``experiments/estimators/counts.jsonl``; NAS-Bench-Macro's seed-to-seed
  tau from the benchmark file itself;
- cross-validated errors: medians and Spearman recomputed from the per-row predictions that the
  experiments committed (``experiments/today_speed/calibration.json``, ``experiments/article_speed/
  calibration.json``), not from their summaries;
- the compression figures of docs/export.md against the b-bit law (size b/16 of fp16, 6.02 dB a bit);
- docs/ray.md's ASHA figures from the two search folders ``experiments/ray_asha/`` kept (trial logs and Ray's
  per-trial ``completed.jsonl``), not from the results ``run.py`` derived from them.
- the dnas_fbnet comparison's figures (docs/search.md, README.md, the experiment's README) from the work
  folder ``experiments/dnas_fbnet/search_out/`` kept (each search's trial log, each common-recipe training),
  every candidate re-priced on the table file with ``price_net``; not from ``results.json``.
"""

from __future__ import annotations

import functools
import csv
import hashlib
import json
import math
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import kendalltau, spearmanr

from nas.latency.pricing import price_net
from nas.latency.table import load_table
from nas.spaces import load_space

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "latency_tables"


def page(name: str) -> str:
    """The page's text with every run of white space (line breaks included) read as one space."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def figures(name: str, pattern: str) -> tuple[str, ...]:
    m = re.search(pattern, page(name))
    assert m, f"{name}: no text matches {pattern!r}; the page changed: update the pattern with it"
    return m.groups()


# ---------------------------------------------------------------------------------------------------
# A space's latency range on a shipped table

@functools.cache
def latency_stats(space_name: str, table_file: str) -> tuple[float, float, float]:
    """(fastest, median, slowest) ms of the space on the table: per-decision costs from ``price_net``,
    additivity checked on random networks; the median exact for spaces of at most 10,000 networks, else
    that of 20,000 networks drawn here (seed 7, not the search's)."""
    space = load_space(space_name)
    table = load_table(TABLES / table_file)
    cards = [int(c) for c in space.cardinalities]
    base = np.zeros(len(cards), dtype=np.int64)
    base_ms = price_net(space.decode(base), table).total_ms
    per = []
    for d, n in enumerate(cards):
        costs = []
        for o in range(n):
            c = base.copy()
            c[d] = o
            costs.append(price_net(space.decode(c), table).total_ms - base_ms)
        per.append(np.array(costs))
    rng = np.random.default_rng(7)
    for c in space.sample(rng, 25):
        assert price_net(space.decode(c), table).total_ms == pytest.approx(
            base_ms + sum(p[o] for p, o in zip(per, c)), abs=1e-9), "decisions' costs are not additive"
    fastest = base_ms + sum(p.min() for p in per)
    slowest = base_ms + sum(p.max() for p in per)
    if math.prod(cards) <= 10_000:
        totals = np.full(1, base_ms)
        for p in per:
            totals = (totals[:, None] + p[None, :]).ravel()
    else:
        draws = np.stack([rng.integers(0, n, 20_000) for n in cards], axis=1)
        totals = base_ms + sum(p[draws[:, d]] for d, p in enumerate(per))
    return float(fastest), float(np.median(totals)), float(slowest)


TODAY_ANE = "iphone11-ane.coreml-mlprogram-ios16.yaml"
OLD_ANE = "iphone11-ane.coreml-neuralnetwork-ios13.yaml"

# (page, pattern with groups, space, table, which statistic each group is)
LATENCY_FIGURES = [
    ("README.md", r"every fbnet network runs within 8 ms \(the slowest takes ([\d.]+) ms\).*?"
                  r"`--target-ms ([\d.]+)`, the space's median", "fbnet", TODAY_ANE, ("slowest", "median")),
    ("docs/search.md", r"the fbnet networks take ([\d.]+) to ([\d.]+) ms, as the command prints, and 0\.8 ms is "
                       r"near their median, ([\d.]+) ms", "fbnet", TODAY_ANE, ("fastest", "slowest", "median")),
    ("docs/optuna.md", r"fbnet networks take ([\d.]+) to ([\d.]+) ms on the iPhone 11 ANE \(median ([\d.]+) ms\)",
     "fbnet", TODAY_ANE, ("fastest", "slowest", "median")),
    ("docs/optuna.md", r"([\d.]+) to ([\d.]+) ms on its GPU \(median ([\d.]+) ms\)",
     "fbnet", "iphone11-gpu.coreml-mlprogram-ios16.yaml", ("fastest", "slowest", "median")),
    ("docs/optuna.md", r"([\d.]+) to ([\d.]+) ms on the iPhone XS GPU \(median ([\d.]+) ms\)",
     "fbnet", "iphonexs-gpu.coreml-mlprogram-ios16.yaml", ("fastest", "slowest", "median")),
    ("docs/ray.md", r"fbnet networks take ([\d.]+) to ([\d.]+) ms", "fbnet", TODAY_ANE, ("fastest", "slowest")),
    ("docs/benchmark.md", r"slowest fbnet network ([\d.]+) ms; suggestion ([\d.]+) ms;", "fbnet", TODAY_ANE,
     ("slowest", "median")),
    ("docs/benchmark.md", r"`--runtime coreml-neuralnetwork-ios13`: ([\d.]+) ms and ([\d.]+) ms\)", "fbnet", OLD_ANE,
     ("slowest", "median")),
    ("docs/benchmark.md", r"--target-ms ([\d.]+) # ~8 s with export; [\d.]+ ms: the space's median", "nasbench_macro",
     TODAY_ANE, ("median",)),
    ("docs/benchmark.md", r"--target-ms ([\d.]+) --runtime coreml-neuralnetwork-ios13 --out search_ios13 # [\d.]+ ms: "
                          r"the median on the 2020-regime table", "nasbench_macro", OLD_ANE, ("median",)),
]


@pytest.mark.parametrize("name, pattern, space, table, stats", LATENCY_FIGURES,
                         ids=[f"{f[0]}:{f[2]}:{f[3].split('.')[0]}:{'+'.join(f[4])}" for f in LATENCY_FIGURES])
def test_space_latency_figures(name, pattern, space, table, stats):
    quoted = figures(name, pattern)
    fastest, median, slowest = latency_stats(space, table)
    actual = {"fastest": fastest, "median": median, "slowest": slowest}
    for text, stat in zip(quoted, stats):
        digits = len(text.split(".")[1]) if "." in text else 0
        # as many decimals as the page gives; a sampled median (fbnet) within 1 % of the search's sample
        tol = 0.5 * 10 ** -digits + (0.01 * median if stat == "median" and space == "fbnet" else 0) + 1e-9
        assert abs(float(text) - actual[stat]) <= tol, (
            f"{name}: {stat} of {space} on {table} quoted {text} ms, recomputed {actual[stat]:.4f} ms")


# ---------------------------------------------------------------------------------------------------
# The default estimator's Kendall taus and the benchmark's noise ceiling

def _counts():
    rows = [json.loads(line) for line in (ROOT / "experiments/estimators/counts.jsonl").read_text().splitlines()]
    bench = json.loads((ROOT / "search_spaces/benchmarks/nas-bench-macro_cifar10.json").read_text())
    nbm = [r for r in rows if r["set"] == "nbmacro"]
    for r in nbm:     # the experiment's ground truth and parameter counts are the benchmark's own
        assert r["truth"] == pytest.approx(bench[r["id"]]["mean_acc"]) and r["params"] == bench[r["id"]]["params"]
    return nbm, [r for r in rows if r["set"] == "zoo"]


def _tau(rows, w_depth, c_by_classes):
    score = [math.log(r["fmap"]) + w_depth * math.log(r["depth"]) + c_by_classes[r["classes"]] * math.log(r["params"])
             for r in rows]
    return kendalltau(score, [r["truth"] for r in rows]).statistic


def test_default_estimator_taus_from_its_stated_formula():
    nbm, zoo = _counts()
    assert (len(nbm), len(zoo)) == (1000, 36)
    w, c10, c1000 = map(float, figures("docs/estimators.md", r"ln fmap \+ ([\d.]+) ln depth \+ c\(K\) ln params.*?"
                                       r"c\(10\) = (-?[\d.]+) was fitted.*?c\(1000\) = (-?[\d.]+) on 40"))
    c = {10: c10, 1000: c1000}
    tau_nbm, tau_zoo = _tau(nbm, w, c), _tau(zoo, w, c)
    nbm_q, zoo_q = figures("docs/estimators.md", r"Kendall tau \*\*([\d.]+)\*\* against NAS-Bench-Macro's trained "
                                                 r"accuracy.*?\*\*([\d.]+)\*\* against the article's ImageNet top-1")
    assert (float(nbm_q), float(zoo_q)) == pytest.approx((tau_nbm, tau_zoo), abs=5e-4)
    # the rounded figures elsewhere
    for name, pattern in [
        ("README.md", r"ranks NAS-Bench-Macro's trained accuracy at Kendall tau ([\d.]+) \(held out\) and the zoo's "
                      r"ImageNet top-1 at ([\d.]+)"),
        ("docs/search.md", r"Kendall tau ([\d.]+) on NAS-Bench-Macro \(held out from the fits\) and ([\d.]+) on the "
                           r"zoo's ImageNet top-1"),
    ]:
        assert tuple(map(float, figures(name, pattern))) == pytest.approx((tau_nbm, tau_zoo), abs=5e-3), name
    # the previous default (no capacity term) and parameters alone
    fd = figures("docs/estimators.md", r"`fmap_depth` \(ln fmap \+ [\d.]+ ln depth, the previous default\) scores "
                                       r"([\d.]+) and ([\d.]+),.*?`params` ([\d.]+) and ([\d.]+)\.")
    zero = {10: 0.0, 1000: 0.0}
    assert float(fd[0]) == pytest.approx(_tau(nbm, w, zero), abs=5e-4)
    assert float(fd[1]) == pytest.approx(_tau(zoo, w, zero), abs=5e-4)
    params = [kendalltau([r["params"] for r in rows], [r["truth"] for r in rows]).statistic for rows in (nbm, zoo)]
    assert tuple(map(float, fd[2:])) == pytest.approx(tuple(params), abs=5e-4)


def test_capacity_weight_between_the_fitted_ends():
    """c is linear in ln K between c(10) and c(1000): c(100) lies half way (a hand computation)."""
    c10, c1000, c100 = map(float, figures("docs/estimators.md", r"c\(10\) = (-?[\d.]+) was fitted.*?c\(1000\) = "
                                                                r"(-?[\d.]+) on 40.*?\(c\(100\) = (-?[\d.]+)\)"))
    assert c100 == pytest.approx((c10 + c1000) / 2, abs=5e-3)


def test_benchmark_seed_to_seed_tau():
    bench = json.loads((ROOT / "search_spaces/benchmarks/nas-bench-macro_cifar10.json").read_text())
    acc = np.array([v["test_acc"] for v in bench.values()])
    assert acc.shape == (6561, 3)
    taus = [kendalltau(acc[:, a], acc[:, b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))]
    (q,) = figures("docs/benchmark.md", r"the seed-to-seed Kendall tau of this benchmark is ([\d.]+)\)")
    assert float(q) == pytest.approx(float(np.mean(taus)), abs=5e-3)
    (q,) = figures("docs/estimators.md", r"noise ceiling ([\d.]+)\)")
    assert float(q) == pytest.approx(float(np.mean(taus)), abs=5e-3)


# ---------------------------------------------------------------------------------------------------
# Cross-validated errors of the predicted tables, from the committed per-row predictions

def _median_ape(rows) -> float:
    return statistics.median(abs(r["predicted_ms"] / r["measured_ms"] - 1) * 100 for r in rows)


def test_todays_regime_cross_validation_figures():
    rows = json.loads((ROOT / "experiments/today_speed/calibration.json").read_text())["cv"]
    name = "docs/predicted-tables.md"
    phone, p12, p12pro, p12max, p13, p14pro, p15pro, source, family, fam_lo, fam_hi, resnet = figures(
        name, r"leave one phone out ([\d.]+) % \(iPhone 12 ([\d.]+) %, 12 Pro ([\d.]+) %, 12 Pro Max ([\d.]+) %, "
              r"iPhone 13 ([\d.]+) %, 14 Pro ([\d.]+) % and 15 Pro ([\d.]+) % on 2 rows each;.*?leave one source out "
              r"([\d.]+) %.*?leave one model family out ([\d.]+) % .*?EfficientNet and ShuffleNetV2 families "
              r"(\d+)-(\d+) %, ResNet (\d+) %")
    by = lambda cv, **kw: [r for r in rows if r["cv"] == cv and all(r[k] == v for k, v in kw.items())]
    checks = [(phone, by("phone")), (source, by("source")), (family, by("model")),
              (p12, by("phone", device="iphone12")), (p12pro, by("phone", device="iphone12pro")),
              (p12max, by("phone", device="iphone12promax")), (p13, by("phone", device="iphone13")),
              (p14pro, by("phone", device="iphone14pro")), (p15pro, by("phone", device="iphone15pro"))]
    for quoted, sel in checks:
        assert sel and float(quoted) == pytest.approx(_median_ape(sel), abs=0.051 + 1e-9)
    effnet, shufflenet = (_median_ape(by("model", left_out=f)) for f in ("efficientnet", "shufflenet_v2"))
    assert float(fam_lo) - 0.5 <= min(effnet, shufflenet) and max(effnet, shufflenet) < float(fam_hi) + 0.5
    assert round(_median_ape(by("model", left_out="resnet"))) == int(resnet)


def test_2020_regime_cross_validation_figures():
    rows = json.loads((ROOT / "experiments/article_speed/calibration.json").read_text())["loo"]
    name = "docs/predicted-tables.md"
    n_models, overall, cpu, gpu, ane, male, male_cpu, male_gpu, male_ane = figures(
        name, r"over all (\d+) calibration models, leave-one-model-out median absolute error was ([\d.]+) % overall "
              r"\(CPU ([\d.]+) %, GPU ([\d.]+) %, ANE ([\d.]+) %; mean absolute log error ([\d.]+) %: CPU ([\d.]+) %, "
              r"GPU ([\d.]+) %, ANE ([\d.]+) %;")
    assert int(n_models) == len({r["model"] for r in rows})
    for quoted, unit in [(overall, None), (cpu, "cpu"), (gpu, "gpu"), (ane, "ane")]:
        sel = [r for r in rows if unit in (None, r["unit"])]
        assert float(quoted) == pytest.approx(_median_ape(sel), abs=0.051)
    for quoted, unit in [(male, None), (male_cpu, "cpu"), (male_gpu, "gpu"), (male_ane, "ane")]:
        sel = [r for r in rows if unit in (None, r["unit"])]
        assert float(quoted) == pytest.approx(100 * np.mean([abs(math.log(r["predicted_ms"] / r["measured_ms"]))
                                                              for r in sel]), abs=0.051)
    rho = figures(name, r"Spearman rank correlation per phone/unit: iPhone 11 cpu ([\d.]+), gpu ([\d.]+), ane ([\d.]+); "
                        r"iPhone XS cpu ([\d.]+), gpu ([\d.]+), ane ([\d.]+); iPhone X cpu ([\d.]+), gpu ([\d.]+)")
    pairs = [(p, u) for p in ("iphone11", "iphonexs") for u in ("cpu", "gpu", "ane")] + [("iphonex", "cpu"),
                                                                                         ("iphonex", "gpu")]
    for quoted, (p, u) in zip(rho, pairs):
        sel = [r for r in rows if (r["phone"], r["unit"]) == (p, u)]
        r_s = spearmanr([r["measured_ms"] for r in sel], [r["predicted_ms"] for r in sel]).statistic
        assert float(quoted) == pytest.approx(r_s, abs=0.0051), f"{p}/{u}"


# ---------------------------------------------------------------------------------------------------
# Weight compression figures of docs/export.md against the b-bit law

def test_compression_figures_follow_the_bit_law():
    fp16, int8, sq8, lut8, sql8, lut6, sq6, lut4, sq4 = map(float, figures(
        "docs/export.md", r"weight file ([\d.]+) MB fp16 -> int8 ([\d.]+) MB \(SQNR ([\d.]+) dB\), lut8 ([\d.]+) MB "
                          r"\(([\d.]+) dB\), lut6 ([\d.]+) MB \(([\d.]+) dB\), lut4 ([\d.]+) MB \(([\d.]+) dB\)"))
    for size, sqnr, bits in [(int8, sq8, 8), (lut8, sql8, 8), (lut6, sq6, 6), (lut4, sq4, 4)]:
        # b bits a weight instead of 16, plus small scales / palettes: within 3 % above b/16 of the fp16 file
        assert fp16 * bits / 16 <= size <= fp16 * bits / 16 * 1.03, (bits, size)
        # uniform (seeded random) weights: 6.02 dB per bit, within half a decibel
        assert sqnr == pytest.approx(6.02 * bits, abs=0.5), (bits, sqnr)


# ---------------------------------------------------------------------------------------------------
# Counts the front page quotes

def test_zoo_counts_on_the_pages():
    meta = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "nas/zoo/models").glob("*.yaml"))]
    article = [m for m in meta if "article" in m]
    with_top1 = [m for m in article if (m["article"] or {}).get("top1") is not None]
    (n,) = figures("README.md", r"\*\*Zoo\*\* \(`nas zoo list`\): (\d+) of the article's models")
    assert int(n) == len(article)
    n_article, n_newer = figures("docs/architecture.md", r"every zoo model \((\d+) of the article's, (\d+) newer\)")
    assert (int(n_article), int(n_newer)) == (len(article), len(meta) - len(article))
    (n,) = figures("README.md", r"the zoo's ImageNet top-1 at [\d.]+ \(transfer;.*?and the (\d+) zoo models were "
                                r"never used to fit")
    assert int(n) == len(with_top1)


def test_chip_table_names_every_device_and_the_table_it_uses():
    """docs/predicted-tables.md's table of devices by chip: a name is bold exactly when it has shipped tables of
    its own; every other name is one ``nas.hardware.devices.SAME_FIGURES`` sends to a bold phone of the same row;
    every device with a shipped table and every alias is listed."""
    from nas.hardware.devices import SAME_FIGURES

    text = (ROOT / "docs/predicted-tables.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (A\d+(?: Pro)?) \| (.+) \|$", text, flags=re.M)
    assert len(rows) >= 9, "the chip table was not found"
    with_tables = {p.name.split("-")[0] for p in TABLES.glob("iphone*-*.yaml")}
    listed = set()
    for chip, cell in rows:
        bold = set(re.findall(r"\*\*(\w+)\*\*", cell))
        names = set(re.findall(r"\b(iphone\w+)\b", cell))
        assert bold and bold <= names, chip
        for name in names:
            assert (name in bold) == (name in with_tables), f"{chip}: {name} bold, or with tables, not both"
            if name not in bold:
                assert SAME_FIGURES.get(name) in bold, f"{chip}: {name} uses {SAME_FIGURES.get(name)!r}"
        listed |= names
    assert with_tables <= listed and set(SAME_FIGURES) <= listed, (with_tables | set(SAME_FIGURES)) - listed


def test_option_rules_table_lists_every_rule():
    """docs/robustness.md's table of options that need another option has a row for each rule of
    ``nas.cli.flagdeps.RULES`` (the code refuses by that table) and none that is not one."""
    from nas.cli.flagdeps import RULES

    text = (ROOT / "docs/robustness.md").read_text(encoding="utf-8")
    section = text.split("## Options that need another option", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for command, options in re.findall(r"^\| `([a-z][a-z -]*)` \| (.+?) \|", section, flags=re.M):
        documented |= {(command, o) for o in re.findall(r"`(--[a-z][a-z0-9-]*)", options)}
    coded = {(" ".join(r.command), r.option) for r in RULES}
    assert documented, "the rules table was not found"
    assert coded - documented == set(), "rules the page leaves out"
    assert documented - coded == set(), "rows the code has no rule for"


def test_layers_table_is_the_layer_test_order():
    """docs/architecture.md's "Layers" table ranks the packages as ``tests/test_layers.py`` enforces them."""
    from test_layers import LAYERS

    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.+?) \|", text, flags=re.M)
    documented = [set(re.findall(r"`(\w+)`", cell)) for _, cell in sorted(rows, key=lambda r: int(r[0]))]
    assert [int(r) for r, _ in rows] == list(range(len(rows)))
    assert documented == [names for names in LAYERS if names != {"__main__"}]


# ---------------------------------------------------------------------------------------------------
# docs/ray.md's ASHA figures, from the trial logs experiments/ray_asha/ kept

def _kept_run(mode: str) -> tuple[dict, list[dict], list[dict]]:
    folder = ROOT / "experiments/ray_asha" / mode
    lines = (folder / "trials.jsonl").read_text().splitlines()
    trainings = [json.loads(l) for l in (folder / "ray/completed.jsonl").read_text().splitlines() if l.strip()]
    return json.loads(lines[0])["header"], [json.loads(l) for l in lines[1:]], trainings


def test_ray_asha_figures_from_the_kept_logs():
    """Epochs trained (Ray's own per-trial record), trials over the target and both picks, read from the two
    kept search folders (not from run.py's results), against docs/ray.md's "Tried here"."""
    target, sha = figures("docs/ray.md", r"Tried here .*?fbnet, ([\d.]+) ms on the default iPhone 11 ANE table of "
                                         r"today's regime \(sha256 `(\w{12})`")
    over, n = figures("docs/ray.md", r"; (\d+) of the (\d+) candidates were over it")
    trained, full, stopped, feasible = figures("docs/ray.md", r"trained (\d+) of the (\d+) candidate-epochs \((\d+) of "
                                               r"the (\d+) trained candidates stopped")
    best_full, when_stopped, pick = figures("docs/ray.md", r"best network of the full run \(([\d.]+) after four "
                                            r"epochs, ([\d.]+) when stopped after two\) and picked another \(([\d.]+)")
    (h_off, off, t_off), (h_on, on, t_on) = _kept_run("asha_off"), _kept_run("asha_on")
    for h in (h_off, h_on):
        assert h["table_sha256"].startswith(sha) and h["target_ms"] == float(target) and h["seed"] == 1
        assert h["table_sha256"] == hashlib.sha256(
            (TABLES / "iphone11-ane.coreml-mlprogram-ios16.yaml").read_bytes()).hexdigest()
    assert (h_off["early_stop"], h_on["early_stop"]) == ("none", "asha")
    assert [t["arch"] for t in off] == [t["arch"] for t in on] and len(off) == int(n)
    assert sum(t["status"] == "INFEASIBLE" for t in on) == int(over)
    epochs = h_on["estimator"]["epochs"]
    assert (sum(r["epoch"] for r in t_on), len(t_on) * epochs) == (int(trained), int(full))
    assert sum(r["epoch"] for r in t_off) == int(full) and len(t_off) == int(feasible)
    assert sum(r["epoch"] < epochs for r in t_on) == int(stopped)
    ok_off = [t for t in off if t["status"] == "OK"]
    top = max(ok_off, key=lambda t: t["metrics"]["accuracy"])
    assert round(top["metrics"]["accuracy"], 4) == float(best_full)
    again = next(t for t in on if t["arch"] == top["arch"])
    assert (again["metrics"]["epochs_trained"], round(again["metrics"]["accuracy"], 4)) == (2, float(when_stopped))
    ok_on = [t for t in on if t["status"] == "OK"]
    assert round(max(t["metrics"]["accuracy"] for t in ok_on), 4) == float(pick)


# ---------------------------------------------------------------------------------------------------
# experiments/dnas_fbnet's figures, from the search folders and final trainings it kept

DNAS_FBNET = ROOT / "experiments/dnas_fbnet/search_out"


def _dnas_fbnet_candidates(strategy: str) -> tuple[dict, list[tuple[str, list[int], float | None]]]:
    """(the search's table sha256, target and seed; (status, choices, search score) per candidate) from the kept
    trial log (dnas, which writes no trials.jsonl: its trials.csv and summary.json)."""
    folder = DNAS_FBNET / strategy
    if strategy == "dnas":
        s = json.loads((folder / "summary.json").read_text())
        head = {"table_sha256": s["table"]["sha256"], "target_ms": s["target_ms"], "seed": s["seed"]}
        rows = list(csv.DictReader((folder / "trials.csv").open()))
        return head, [(r["status"], [int(v) for v in r["choices"].split()],
                       float(r["accuracy"]) if r["accuracy"] else None) for r in rows]
    lines = (folder / "trials.jsonl").read_text().splitlines()
    head = json.loads(lines[0])["header"]
    trials = [json.loads(l) for l in lines[1:]]
    return head, [(t["status"], t["choices"], t["metrics"].get("accuracy")) for t in trials]


def test_dnas_fbnet_figures_from_the_kept_work_folder():
    """Each strategy's pick (its best search score within the target), re-priced on the table file, and the
    mean of its kept common-recipe trainings, against docs/search.md, README.md and the experiment's README."""
    sha, = figures("docs/search.md", r"dnas_fbnet/` compares .*? at 0\.8 ms on today's default iPhone 11 ANE "
                                     r"table \(sha256 `(\w{12})`\)")
    quoted = dict(zip(("dnas", "evolution", "rl", "random"), map(float, figures(
        "docs/search.md", r"were dnas ([\d.]+), evolution ([\d.]+), rl ([\d.]+), random ([\d.]+), within about one"))))
    low, high = map(float, figures("README.md", r"dnas_fbnet/`.*? common-recipe accuracies, ([\d.]+) to ([\d.]+) "
                                                r"\(mean of 3 seeds\)"))
    per_seed = figures("experiments/dnas_fbnet/README.md",
                       r"Per seed \(0, 1, 2\): dnas ([\d.]+) / ([\d.]+) / ([\d.]+); evolution ([\d.]+) / ([\d.]+) / "
                       r"([\d.]+); rl ([\d.]+) / ([\d.]+) / ([\d.]+); random ([\d.]+) / ([\d.]+) / ([\d.]+) ")
    table_file = TABLES / TODAY_ANE
    assert hashlib.sha256(table_file.read_bytes()).hexdigest().startswith(sha)
    table, space = load_table(table_file), load_space("fbnet")
    finals = [json.loads(f.read_text()) for f in sorted((DNAS_FBNET / "final").glob("*.json"))]
    means, sds = {}, {}
    for strategy in quoted:
        head, cands = _dnas_fbnet_candidates(strategy)
        assert head["table_sha256"] == hashlib.sha256(table_file.read_bytes()).hexdigest()
        assert (head["target_ms"], head["seed"]) == (0.8, 0)
        for status, choices, _ in cands:          # over the target <=> priced above 0.8 ms on the table file
            over = price_net(space.decode(choices), table).total_ms > head["target_ms"]
            assert status == ("INFEASIBLE" if over else "OK"), (strategy, choices)
        score, choices = max((c[2], c[1]) for c in cands if c[0] == "OK")
        accs = {f["seed"]: f["accuracy"] for f in finals if f["choices"] == choices and f["epochs"] == 4}
        assert sorted(accs) == [0, 1, 2], f"{strategy}: the kept trainings of its pick"
        means[strategy], sds[strategy] = statistics.mean(accs.values()), statistics.stdev(accs.values())
        assert round(means[strategy], 4) == quoted[strategy], strategy
        i = list(quoted).index(strategy)
        assert [round(accs[k], 3) for k in (0, 1, 2)] == [float(v) for v in per_seed[3 * i:3 * i + 3]], strategy
    assert (round(min(means.values()), 4), round(max(means.values()), 4)) == (low, high)
    # "within about one seed-to-seed standard deviation of each other"
    assert max(means.values()) - min(means.values()) <= max(sds.values())
