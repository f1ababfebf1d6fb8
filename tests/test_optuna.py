"""Optuna in `nas search`: NSGA-II/TPE strategies, the RDB study (--storage), several devices at once."""

import json

import numpy as np
import optuna
import pytest

from nas.cli import main
from nas.errors import NasError
from nas.latency import SpacePricer, load_table, save_table
from nas.search.multi import Constraint, parse_constraints
from nas.search.optuna_storage import StudyRecorder
from nas.search.session import SearchConfig, execute, prepare
from nas.search.strategies import Result, Status, make_strategy
from search_fixtures import config, setup, stored, synthetic_table, tiny_space, write_table  # noqa: F401


def test_constraints_are_latency_minus_target_per_metric():
    s = make_strategy("nsga2", cardinalities=(3, 4), seed=0, target_ms=0,
                      targets={"latency_ms@a/ane": 2.0, "latency_ms@b/gpu": 5.0})
    c = s.ask(2)
    s.tell([Result(c[0], Status.OK, {"latency_ms@a/ane": 1.5, "latency_ms@b/gpu": 4.0, "accuracy": 0.7}),
            Result(c[1], Status.INFEASIBLE, {"latency_ms@a/ane": 2.5, "latency_ms@b/gpu": 4.0})])
    t0, t1 = s.study.trials
    assert t0.constraints == {"latency_ms@a/ane": -0.5, "latency_ms@b/gpu": -1.0} and t0.values == [0.7]
    assert t1.constraints == {"latency_ms@a/ane": 0.5, "latency_ms@b/gpu": -1.0}
    with pytest.raises(ValueError, match="objective"):
        make_strategy("tpe", cardinalities=(3,), seed=0, target_ms=1, objective="pareto")


@pytest.mark.parametrize("name", ["nsga2", "tpe"])
def test_samplers_move_towards_the_feasible_region(name):
    # A toy where only low option indices are feasible: after the random start, most proposals should be.
    card = (6,) * 8
    s = make_strategy(name, cardinalities=card, seed=1, target_ms=12.0)
    feasible = []
    for _ in range(12):
        batch = s.ask(8)
        res = []
        for c in batch:
            lat = float(sum(c))
            if lat > 12:
                res.append(Result(c, Status.INFEASIBLE, {"latency_ms": lat}))
            else:
                res.append(Result(c, Status.OK, {"latency_ms": lat, "accuracy": lat / 12}))
            feasible.append(lat <= 12)
        s.tell(res)
    # Uniform sampling: sum of 8 uniform{0..5} <= 12 has probability ~3.5%.
    assert np.mean(feasible[:16]) < 0.25 and np.mean(feasible[-32:]) > 0.25


def test_storage_holds_every_trial_with_its_attributes(setup):
    tmp = setup[0]
    url = f"sqlite:///{tmp / 's.db'}"
    summary = execute(prepare(config(setup, strategy="tpe", trials=20, storage=url)))
    study = optuna.load_study(storage=url, study_name=summary["storage"]["study_name"])
    assert summary["storage"]["study_name"] == "nas-tiny-tpe-seed0"
    assert study.metric_names == ["accuracy", "latency_ms"]
    trials = study.get_trials()
    log = stored(tmp / "out")
    assert len(trials) == 20 == len(log)
    sha = summary["table"]["sha256"]
    for ft, t in zip(trials, log):
        a = ft.user_attrs
        assert a["dsl"] == t["arch"] and a["accuracy_kind"] == t["accuracy_kind"] and a["status"] == t["status"]
        assert a["table_sha256"] == {"latency_ms": sha}
        assert "predicted iphone11/ane" in a["latency_source"]["latency_ms"]
        assert len(ft.params) == 4
        assert set(ft.params.values()) <= {"ir_k3_e1", "ir_k3_e3", "ir_k5_e3", "ir_k5_e6", "skip"}
        lat = t["metrics"]["latency_ms"]
        assert ft.constraints["latency_ms"] == pytest.approx(lat - summary["target_ms"])
        if t["status"] == "OK":
            assert ft.state == optuna.trial.TrialState.COMPLETE
            assert ft.values == [t["metrics"]["accuracy"], lat]
        else:
            assert ft.state == optuna.trial.TrialState.PRUNED and t["status"] == "INFEASIBLE"
    best = max((ft for ft in trials if ft.values), key=lambda ft: ft.values[0])
    assert best.user_attrs["dsl"] == summary["best"]["arch"]


def test_killed_search_resumes_from_the_database_alone(setup, monkeypatch):
    tmp = setup[0]
    whole = execute(prepare(config(setup, "whole", strategy="nsga2", trials=40)))   # crosses a generation (24)
    url = f"sqlite:///{tmp / 'cut.db'}"
    real = StudyRecorder.append
    count = {"n": 0}

    def dying(self, trial):
        real(self, trial)
        count["n"] += 1
        if count["n"] == 29:
            raise KeyboardInterrupt

    monkeypatch.setattr(StudyRecorder, "append", dying)
    with pytest.raises(KeyboardInterrupt):
        execute(prepare(config(setup, "cut", strategy="nsga2", trials=40, storage=url)))
    monkeypatch.setattr(StudyRecorder, "append", real)
    (tmp / "cut" / "trials.jsonl").unlink()               # only the database is left
    with pytest.raises(NasError, match="--resume"):
        prepare(config(setup, "cut", strategy="nsga2", trials=40, storage=url))
    resumed = execute(prepare(config(setup, "cut", strategy="nsga2", trials=40, storage=url, resume=True)))
    assert resumed["best"] == whole["best"] and resumed["pareto"] == whole["pareto"]
    assert stored(tmp / "cut") == stored(tmp / "whole")
    assert len(optuna.load_study(storage=url, study_name="nas-tiny-nsga2-seed0").trials) == 40
    with pytest.raises(NasError, match="seed"):
        execute(prepare(config(setup, "cut", strategy="nsga2", trials=40, storage=url, resume=True, seed=3,
                               study_name="nas-tiny-nsga2-seed0")))


@pytest.mark.parametrize("url, message", [("not a url", "not a database URL"),
                                          ("nosuchdb://x/y", "no SQLAlchemy driver"),
                                          ("sqlite:///{tmp}/missing/s.db", "does not exist"),
                                          ("sqlite:///{tmp}/notes.txt", "not an SQLite database")])
def test_bad_storage_refused_before_anything_is_written(setup, capsys, url, message):
    tmp, space_path, _, table, target = setup
    (tmp / "notes.txt").write_text("plain text, not a database\n" * 20)
    rc = main(["search", "--space", str(space_path), "--table", str(table), "--target-ms", str(target),
               "--strategy", "nsga2", "--storage", url.format(tmp=tmp), "--out", str(tmp / "o"), "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp / "o").exists() and (tmp / "notes.txt").read_text().startswith("plain text")


def test_lists_pair_up_or_broadcast():
    assert parse_constraints("iphone11", "ane,gpu", "6,20") == [Constraint("iphone11", "ane", 6.0),
                                                                 Constraint("iphone11", "gpu", 20.0)]
    assert parse_constraints("iphone11,iphonexs", "ane,gpu", "5") == [Constraint("iphone11", "ane", 5.0),
                                                                      Constraint("iphonexs", "gpu", 5.0)]
    for args, msg in ((("a,b,c", "ane,gpu", "5"), "pair up"), (("a", "ane", "5,x"), "not a number"),
                      (("a", "ane,ane", "5"), "twice"), (("a", "ane", "-1"), "positive"),
                      (("a,", "ane", "1"), "empty")):
        with pytest.raises(NasError, match=msg):
            parse_constraints(*args)


@pytest.mark.parametrize("strategy, objective", [("nsga2", "accuracy"), ("nsga2", "pareto"), ("nsga2", "pareto-all"),
                                                 ("evolution", "accuracy")])
def test_several_devices_best_meets_every_target(setup, monkeypatch, strategy, objective):
    tmp, space_path, space, _, _ = setup
    tables = tmp / "tables"
    tables.mkdir()
    costs = {}
    for device, unit, scale in (("iphone11", "ane", 1.0), ("iphone11", "gpu", 3.0)):
        t = synthetic_table(space, device=device, unit=unit)
        t.entries = {k: type(v)(v.median_ms * scale, n=v.n) for k, v in t.entries.items()}
        save_table(t, tables / f"{device}-{unit}.yaml")
        costs[unit] = SpacePricer(space, load_table(tables / f"{device}-{unit}.yaml"))
    monkeypatch.setenv("NAS_TABLES_DIR", str(tables))
    sample = space.sample(np.random.default_rng(0), 2000)
    t_ane, t_gpu = (float(np.percentile(costs[u].price(sample), q)) for u, q in (("ane", 60), ("gpu", 45)))
    rc = main(["search", "--space", str(space_path), "--device", "iphone11", "--unit", "ane,gpu", "--target-ms",
               f"{t_ane},{t_gpu}", "--strategy", strategy, "--objective", objective, "--trials", "24",
               "--out", str(tmp / "m"), "--no-export", "--no-baselines", "--storage", f"sqlite:///{tmp / 'm.db'}"])
    assert rc == 0
    summary = json.loads((tmp / "m" / "summary.json").read_text())
    best = np.array(summary["best"]["choices"])
    # Priced here on each table on its own, not through the multi-device pricer.
    assert costs["ane"].price(best) <= t_ane and costs["gpu"].price(best) <= t_gpu
    dev = {d["unit"]: d for d in summary["devices"]}
    assert dev["gpu"]["best_latency_ms"] == pytest.approx(float(costs["gpu"].price(best)), abs=1e-5)
    assert dev["ane"]["table"]["source"] == "predicted" and len(dev["gpu"]["table"]["sha256"]) == 64
    # one record shape for summary.json's table, one pair or several: the same keys, the regime as `runtime`
    assert set(dev["ane"]["table"]) == {"path", "sha256", "source", "device", "unit", "runtime", "weights", "summary"}
    assert dev["ane"]["table"]["runtime"] == "coreml-mlprogram-ios16" and dev["ane"]["table"]["weights"] == "fp16"
    for t in stored(tmp / "m"):
        m = t["metrics"]
        ok = costs["ane"].price(np.array(t["choices"])) <= t_ane and costs["gpu"].price(np.array(t["choices"])) <= t_gpu
        assert (t["status"] != "INFEASIBLE") == ok
        assert m["latency_ratio"] == pytest.approx(max(m["latency_ms@iphone11/ane"] / t_ane,
                                                       m["latency_ms@iphone11/gpu"] / t_gpu))
    front = summary["pareto_worst_ratio"]
    assert front and all(a["latency_ratio"] < b["latency_ratio"] and a["accuracy"] < b["accuracy"]
                         for a, b in zip(front, front[1:]))
    every = summary["pareto_every_latency"]
    assert {p["trial"] for p in front} <= {p["trial"] for p in every}       # a ratio-front point is never dominated
    for p in every:                 # hand check: nothing feasible is at least as good everywhere and better somewhere
        for t in stored(tmp / "m"):
            if t["status"] == "OK" and t["arch"] != p["arch"]:
                m = t["metrics"]
                a, la, lg = m["accuracy"], m["latency_ms@iphone11/ane"], m["latency_ms@iphone11/gpu"]
                pa, pl, pg = p["accuracy"], p["latency_ms"]["iphone11/ane"], p["latency_ms"]["iphone11/gpu"]
                assert not (a >= pa - 1e-6 and la <= pl + 1e-6 and lg <= pg + 1e-6
                            and (a > pa + 1e-6 or la < pl - 1e-6 or lg < pg - 1e-6))
    for unit in ("ane", "gpu"):
        assert (tmp / "m" / f"pareto_iphone11_{unit}.png").stat().st_size > 0
    study = optuna.load_study(storage=f"sqlite:///{tmp / 'm.db'}", study_name=f"nas-tiny-{strategy}-seed0")
    assert study.metric_names == ["accuracy", "latency_ms@iphone11/ane", "latency_ms@iphone11/gpu"]


def test_pareto_needs_nsga2_and_multi_refuses_table(setup):
    with pytest.raises(NasError, match="nsga2"):
        prepare(config(setup, strategy="tpe", objective="pareto"))
    with pytest.raises(NasError, match="--table"):
        prepare(config(setup, constraints=(Constraint("iphone11", "ane", 5.0), Constraint("iphone11", "gpu", 9.0))))


def test_rl_policy_stays_finite_when_probabilities_underflow():
    # Seen in experiments/optuna_strategies: a collapsed policy had p == 0 exactly, and 0 * log 0 made it NaN.
    s = make_strategy("rl", cardinalities=(3, 3), seed=0, target_ms=10)
    s.logits = np.where(s.mask, np.array([[0.0, -800.0, -800.0]] * 2), -np.inf)   # exp(-800) == 0.0
    assert (s.probs()[:, 1:] == 0).all()
    with np.errstate(divide="raise", invalid="raise", under="ignore"):
        s.tell([Result((0, 0), Status.OK, {"latency_ms": 5.0, "accuracy": 0.5})])
    assert np.isfinite(s.logits[s.mask]).all() and s.ask(4) == [(0, 0)] * 4


def test_database_failure_stops_cleanly_and_resume_refills_the_study(setup, monkeypatch):
    import sqlite3
    tmp = setup[0]
    url = f"sqlite:///{tmp / 'f.db'}"
    real = StudyRecorder.append

    def failing(self, trial):
        if trial.index == 5:
            raise sqlite3.OperationalError("database is locked")
        real(self, trial)

    monkeypatch.setattr(StudyRecorder, "append", failing)
    with pytest.raises(NasError, match="could not record trial 5.*--resume"):
        execute(prepare(config(setup, "f", strategy="tpe", storage=url)))
    monkeypatch.setattr(StudyRecorder, "append", real)
    assert len(stored(tmp / "f")) == 6                       # the log has trial 5, the study stops at 4
    assert len(optuna.load_study(storage=url, study_name="nas-tiny-tpe-seed0").trials) == 5
    resumed = execute(prepare(config(setup, "f", strategy="tpe", storage=url, resume=True)))
    whole = execute(prepare(config(setup, "w", strategy="tpe")))
    assert resumed["best"] == whole["best"] and stored(tmp / "f") == stored(tmp / "w")
    trials = optuna.load_study(storage=url, study_name="nas-tiny-tpe-seed0").trials
    assert [t.user_attrs["nas_trial"] for t in trials] == list(range(16))


def test_several_devices_price_on_the_runtime_asked(tmp_path):
    # Regression: --unit ane,gpu used to ignore --runtime and price every pair on the default regime's tables.
    rc = main(["search", "--space", "fbnet", "--device", "iphone11", "--unit", "ane,gpu", "--target-ms", "4.5,15",
               "--runtime", "coreml-neuralnetwork-ios13", "--strategy", "nsga2", "--trials", "8",
               "--accuracy", "params", "--out", str(tmp_path / "m"), "--no-export", "--no-baselines"])
    assert rc == 0
    devices = json.loads((tmp_path / "m" / "summary.json").read_text())["devices"]
    assert sorted(d["table"]["path"].rsplit("/", 1)[-1] for d in devices) == [
        "iphone11-ane.coreml-neuralnetwork-ios13.yaml", "iphone11-gpu.coreml-neuralnetwork-ios13.yaml"]


def test_several_devices_note_each_pair_whose_target_does_not_bind(tmp_path):
    # Each pair's slowest network found by pricing all 6,561 NAS-Bench-Macro networks one by one (price_net).
    import itertools

    from nas.latency import find_table, price_net
    from nas.spaces import load_space
    space = load_space("nasbench_macro")
    nets = [space.decode(c) for c in itertools.product(*(range(int(n)) for n in space.cardinalities))]
    ane, gpu = (max(price_net(n, t).total_ms for n in nets) for t in (find_table("iphone11", u) for u in ("ane", "gpu")))

    def notes(targets):
        pairs = tuple(parse_constraints("iphone11", "ane,gpu", targets))
        cfg = SearchConfig(space="nasbench_macro", target_ms=pairs[0].target_ms, out=str(tmp_path / "m"),
                           strategy="nsga2", constraints=pairs)
        return [n for n in prepare(cfg).notes if "does not bind" in n]

    said = notes(f"{ane + 0.01:.3f},{gpu - 0.5:.3f}")
    assert len(said) == 1 and "target for iphone11/ane does not bind" in said[0]
    assert f"slowest takes {ane:.3f} ms" in said[0]
    assert notes(f"{ane - 0.01:.3f},{gpu - 0.5:.3f}") == []
    said = notes(f"{ane - 0.01:.3f},{gpu + 0.01:.3f}")
    assert len(said) == 1 and "target for iphone11/gpu does not bind" in said[0]
    assert f"slowest takes {gpu:.3f} ms" in said[0]
