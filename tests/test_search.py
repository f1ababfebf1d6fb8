"""`nas search` end to end on a tiny space and synthetic tables: checks before work, target, resume, files."""

import json
import time

import numpy as np
import pytest

from nas import zoo
from nas.cli import main
from nas.errors import NasError
from nas.latency import SpacePricer, load_table, save_table
from nas.search.session import SearchConfig, execute, prepare
from nas.search.storage import TrialLog
from search_fixtures import config, setup, stored, synthetic_table, tiny_space, write_table  # noqa: F401


@pytest.mark.parametrize("strategy", ["evolution", "rl", "random", "nsga2", "tpe"])
def test_search_respects_target_and_writes_results(setup, strategy):
    cfg = config(setup, strategy=strategy)
    summary = execute(prepare(cfg))
    out = setup[0] / "out"
    for name in ("summary.json", "best.yaml", "trials.csv", "pareto.png", "trials.jsonl"):
        assert (out / name).stat().st_size > 0
    trials = stored(out)
    assert len(trials) == 16 == summary["trials"]
    for t in trials:
        lat = t["metrics"]["latency_ms"]
        assert (t["status"] == "OK") == (lat <= cfg.target_ms)
    best = summary["best"]
    assert best["latency_ms"] <= cfg.target_ms and best["accuracy_kind"] == "proxy"
    assert best["accuracy"] == pytest.approx(max(t["metrics"]["accuracy"] for t in trials if t["status"] == "OK"), abs=1e-6)
    assert all(p["latency_ms"] <= cfg.target_ms for p in summary["pareto"])
    assert summary["table"]["source"] == "predicted" and len(summary["table"]["sha256"]) == 64
    assert set(summary["table"]) == {"path", "sha256", "source", "device", "unit", "runtime", "weights", "summary"}
    assert (out / "trials.csv").read_text().count("\n") == 17


@pytest.mark.parametrize("strategy", ["evolution", "rl", "nsga2", "tpe"])
def test_interrupted_then_resumed_equals_uninterrupted(setup, strategy, monkeypatch, capsys):
    whole = execute(prepare(config(setup, "whole", strategy=strategy, trials=20)))
    real_append = TrialLog.append
    count = {"n": 0}

    def dying_append(self, trial):
        real_append(self, trial)
        count["n"] += 1
        if count["n"] == 11:          # mid-batch (batches of 8)
            raise KeyboardInterrupt

    monkeypatch.setattr(TrialLog, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        execute(prepare(config(setup, "cut", strategy=strategy, trials=20)))
    monkeypatch.setattr(TrialLog, "append", real_append)
    out = setup[0] / "cut"
    with open(out / "trials.jsonl", "a") as f:
        f.write('{"trial": 11, "choi')           # a line cut short by the kill
    assert not (out / "summary.json").exists()
    with pytest.raises(NasError, match="--resume"):
        execute(prepare(config(setup, "cut", strategy=strategy, trials=20)))
    evaluated = []
    from nas.search.evaluate import Evaluator
    real_evaluate = Evaluator.evaluate
    monkeypatch.setattr(Evaluator, "evaluate",
                        lambda self, batch, **kw: evaluated.extend(batch) or real_evaluate(self, batch, **kw))
    capsys.readouterr()
    resumed = execute(prepare(config(setup, "cut", strategy=strategy, trials=20, resume=True)))
    assert resumed["best"] == whole["best"] and resumed["pareto"] == whole["pareto"]
    assert stored(out) == stored(setup[0] / "whole")
    assert len(evaluated) <= 9                     # only trials 11..19, never the stored ones
    assert capsys.readouterr().err.count("trials.jsonl: dropped a torn last line (19 bytes") == 1


def test_resume_refuses_other_settings(setup):
    execute(prepare(config(setup, trials=8)))
    with pytest.raises(NasError, match="seed"):
        execute(prepare(config(setup, trials=8, seed=5, resume=True)))


def test_same_seed_same_best(setup):
    a = execute(prepare(config(setup, "a", trials=16, seed=2)))
    b = execute(prepare(config(setup, "b", trials=16, seed=2)))
    assert a["best"] == b["best"]


def test_infeasible_target_names_fastest(setup, capsys):
    tmp, space_path, space, table, _ = setup
    fastest = SpacePricer(space, load_table(table)).fastest_ms()
    rc = main(["search", "--space", str(space_path), "--table", str(table), "--target-ms",
               str(round(fastest * 0.9, 3)), "--out", str(tmp / "o"), "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{fastest:.3f} ms" in err and "infeasible" in err
    assert not (tmp / "o").exists()


def test_table_for_other_device_or_unit_refused(setup, capsys):
    tmp, space_path, space, _, target = setup
    for device, unit, field in (("iphone12", "ane", "device"), ("iphone11", "gpu", "unit")):
        other = tmp / f"{device}-{unit}.yaml"
        save_table(synthetic_table(space, device=device, unit=unit), other)
        rc = main(["search", "--space", str(space_path), "--table", str(other), "--target-ms", str(target),
                   "--out", str(tmp / "o"), "--no-export"])
        err = capsys.readouterr().err
        assert rc == 2 and f"field {field}" in err and "--allow-other-device" in err
    assert not (tmp / "o").exists()
    cfg = config(setup, table=str(tmp / "iphone11-gpu.yaml"), allow_other_device=True)
    assert prepare(cfg).table.unit == "gpu"


@pytest.mark.parametrize("kind", ["missing", "empty", "no-images"])
def test_data_folder_missing_or_empty_fails_before_work(setup, kind, capsys):
    tmp, space_path, _, table, target = setup
    data = tmp / "data"
    if kind != "missing":
        data.mkdir()
    if kind == "no-images":
        (data / "cat").mkdir()
        (data / "cat" / "notes.txt").write_text("x")
    t0 = time.perf_counter()
    rc = main(["search", "--space", str(space_path), "--table", str(table), "--target-ms", str(target),
               "--accuracy", "train", "--data", str(data), "--out", str(tmp / "o"), "--no-export"])
    assert rc == 2 and "--data" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 2 and not (tmp / "o").exists()


def test_unknown_strategy_refused_clearly(setup):
    with pytest.raises(NasError, match="unknown --strategy 'annealing'.*dnas"):
        prepare(config(setup, strategy="annealing"))
    assert prepare(config(setup, strategy="dnas")).space is not None   # dnas is prepared like the rest


def test_cli_smoke(setup, capsys):
    tmp, space_path, _, table, target = setup
    rc = main(["search", "--space", str(space_path), "--table", str(table), "--target-ms", str(target),
               "--trials", "8", "--strategy", "random", "--seed", "1", "--out", str(tmp / "cli"), "--no-export"])
    out = capsys.readouterr().out
    assert rc == 0 and "best:" in out
    summary = json.loads((tmp / "cli" / "summary.json").read_text())
    for key in ("space", "strategy", "device", "unit", "table", "target_ms", "seed", "trials", "wall_s", "best",
                "pareto"):
        assert key in summary
    assert summary["strategy"] == "random" and summary["trials"] == 8 and summary["seed"] == 1
    assert set(summary["best"]) >= {"arch", "latency_ms", "accuracy", "accuracy_kind", "extrapolation"}
    assert isinstance(summary["best"]["extrapolation"], list)   # nas.latency.trust flags (none on this table)


def test_baselines_priced_on_the_same_table(tmp_path):
    space_path, space = tiny_space(tmp_path)
    mnv2 = zoo.get("mobilenet_v2").spec
    table = tmp_path / "t.yaml"
    save_table(synthetic_table(space, extra_nets=[mnv2]), table)
    lat = SpacePricer(space, load_table(table)).price(space.sample(np.random.default_rng(0), 500))
    summary = execute(prepare(SearchConfig(space=str(space_path), target_ms=float(np.median(lat)),
                                           out=str(tmp_path / "o"), table=str(table), trials=8, export=False,
                                           proxy_resolution=32)))
    names = [b["name"] for b in summary["baselines"]]
    assert "mobilenet_v2" in names
    b = summary["baselines"][names.index("mobilenet_v2")]
    assert b["accuracy_kind"] == "proxy" and b["latency_ms"] > summary["best"]["latency_ms"]


@pytest.mark.slow
def test_export_best_mlpackage(setup):
    import coremltools as ct
    summary = execute(prepare(config(setup, "exp", trials=8, export=True)))
    path = setup[0] / "exp" / "best.mlpackage"
    assert summary["mlpackage"] == "best.mlpackage" and path.is_dir()
    model = ct.models.MLModel(str(path), skip_model_load=True)
    assert model.get_spec().WhichOneof("Type") == "mlProgram"
    assert len(model.get_spec().description.input) == 1


@pytest.mark.parametrize("accuracy", ["train", "predictor"])
def test_train_and_predictor_on_image_folder(setup, accuracy):
    from PIL import Image
    data = setup[0] / "images"
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (data / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(data / c / f"{i}.png")
    summary = execute(prepare(config(setup, accuracy=accuracy, data=str(data), trials=24, train_epochs=1,
                                     train_resolution=16)))
    kinds = {json.loads(l).get("accuracy_kind") for l in (setup[0] / "out" / "trials.jsonl").read_text().splitlines()[1:]}
    assert summary["best"]["accuracy_kind"] in ("train", "predictor") and "train" in kinds
    assert 0 <= summary["best"]["accuracy"] <= 1


def test_seed_from_notes_models_the_space_cannot_express(setup):
    prep = prepare(config(setup, seed_from=("mobilenet_v2",)))
    assert prep.initial == [] and "cannot express" in prep.notes[0]
    with pytest.raises(NasError, match="unknown zoo model"):
        prepare(config(setup, seed_from=("no_such_model",)))


@pytest.mark.slow
def test_dnas_cli_small_budget_respects_target(tmp_path):
    """``nas search --strategy dnas``: FBNet's differentiable search on the shipped iPhone table."""
    import json

    from nas.cli import main
    out = tmp_path / "dn"
    rc = main(["search", "--space", "fbnet", "--target-ms", "10", "--strategy", "dnas", "--budget", "small",
               "--no-export", "--out", str(out), "--no-baselines"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "dnas" and summary["best"]["latency_ms"] <= 10
    assert (out / "best.yaml").exists() and (out / "trials.csv").exists()
    assert main(["search", "--space", "fbnet", "--target-ms", "10", "--strategy", "dnas", "--budget", "small",
                 "--no-export", "--out", str(out)]) == 2   # a finished run is not overwritten silently


def test_best_mlpackage_compressed_and_quoting_the_searched_device(setup):
    """--compress reaches best.mlpackage; its metadata quotes the searched device's shipped tables (it quoted
    the iPhone 11's whatever --device said); a device outside the registry falls back, said in the notes."""
    from nas.export.mil import read_program
    summary = execute(prepare(config(setup, "cexp", trials=4, export=True, compress="lut6", device="iphone15pro",
                                     allow_other_device=True)))
    meta = read_program(setup[0] / "cexp" / "best.mlpackage").metadata
    assert meta["nas.compression"].startswith("lut6: 6-bit palette")
    # (the tiny space's ops are in no shipped table: each unit's entry says why it is unavailable)
    assert {"nas.latency.iphone15pro.ane", "nas.latency.iphone15pro.gpu"} <= set(meta)
    assert not any(".iphone11." in k for k in meta)
    assert summary["mlpackage_compression"]["name"] == "lut6"
    summary = execute(prepare(config(setup, "dexp", trials=4, export=True, device="mydevice", allow_other_device=True)))
    meta = read_program(setup[0] / "dexp" / "best.mlpackage").metadata
    assert "nas.latency.iphone11.ane" in meta and "nas.compression" not in meta
    assert any("quotes iphone11's latency tables: 'mydevice' is not a known device" in n for n in summary["notes"])
    with pytest.raises(NasError, match="unknown --compress 'lut3'"):       # refused before the search, not after
        prepare(config(setup, "eexp", export=True, compress="lut3"))
    assert not (setup[0] / "eexp").exists()


def test_best_mlpackage_quotes_an_unknown_devices_own_tables(setup, tmp_path, monkeypatch):
    """A device outside the registry with a table in NAS_TABLES_DIR: best.mlpackage quotes that table (it
    quoted the iPhone 11's), its figure the search's own price of the best network on the same entries."""
    from nas.export.mil import read_program
    mine = tmp_path / "mytables"
    mine.mkdir()
    table = write_table(setup[2], mine / "mydevice-ane.yaml", device="mydevice")   # hand-made: the fixture's costs
    monkeypatch.setenv("NAS_TABLES_DIR", str(mine))
    summary = execute(prepare(config(setup, "fexp", trials=4, export=True, device="mydevice", table=str(table))))
    meta = read_program(setup[0] / "fexp" / "best.mlpackage").metadata
    assert float(meta["nas.latency.mydevice.ane_ms"]) == pytest.approx(summary["best"]["latency_ms"], abs=5e-4)
    assert meta["nas.latency.mydevice.ane_source"].endswith("(mydevice-ane.yaml)")
    assert meta["nas.latency.mydevice.gpu"].startswith("unavailable: no latency table")
    assert not any(".iphone11." in k for k in meta) and not any("quotes" in n for n in summary["notes"])
