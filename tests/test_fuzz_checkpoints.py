"""The hostile-input fuzzer (tests/test_fuzz_inputs.py) over what a resume trusts, at the readers:
DNAS checkpoints, and (at the end) `dnas_runs.jsonl` and `profile-ops` partial files.

A real checkpoint is made by ``DnasSearch.save`` after one epoch of a tiny search (well under a
second), loaded, damaged with ``fuzz_mutate.mutate_state`` (a tensor of another shape or dtype, NaN,
a missing or extra key, a plain value for a tensor, ...) or at the byte level (cut short, garbage, a
pickled object that runs a command when loaded unsafely) and saved again. A new search of the same
settings resumes from it: ``resume()`` either refuses it with a ``NasError`` naming the file, or
accepts it and the next epoch trains to finite values. Never another exception, never the command.
"""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

import fuzz_mutate
from nas.errors import NasError
from nas.latency import SpacePricer, load_table
from nas.search.dnas.trainer import DnasConfig, DnasSearch
from search_fixtures import tiny_space, write_table

CASES = int(os.environ.get("NAS_FUZZ_CASES", "6")) * 4              # a case is ~0.1 s


class TinyData:
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.images = torch.randn(48, 3, 16, 16, generator=g)
        self.labels = torch.randint(0, 2, (48,), generator=g)
        self.classes = ("a", "b")


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {fuzz_mutate.MARKER}",))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt")
    _, space = tiny_space(tmp)
    pricer = SpacePricer(space, load_table(write_table(space, tmp / "iphone11-ane.yaml")))
    cfg = DnasConfig(target_ms=0.8, epochs=3, warmup_epochs=0, batch_size=16, resolution=16, samples=1,
                     finetune_epochs=1, seed=1)
    data = TinyData()
    first = DnasSearch(space, pricer, data, cfg, checkpoint=tmp / "template.pt")
    first.run_epoch()
    return lambda path: DnasSearch(space, pricer, data, cfg, checkpoint=path), tmp / "template.pt"


def _write(case, template, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.1:
        data = template.read_bytes()
        case.write_bytes(rng.choice([data[:rng.randrange(len(data))], b"", b"\x00garbage" * 10]))
        return "bytes"
    if r < 0.15:
        torch.save({"epoch": 1, "config": Payload()}, case)
        return "a pickled object"
    state, log = torch.load(template, weights_only=True), []
    for _ in range(rng.choice([1, 1, 2])):
        state = fuzz_mutate.mutate_state(state, rng, log)
    torch.save(state, case)
    return "; ".join(log)


def check_restore(label: str, case, tmp_path, restore, train, tensors) -> None:
    """``restore()`` the damaged ``case``: a ``NasError`` naming the file, or accepted and then one
    ``train()`` step leaves every one of ``tensors()`` finite. Never another exception, never the command."""
    try:
        resumed = restore()
    except NasError as e:
        assert str(case) in str(e), f"{label}: the message names no file: {e}"
        resumed = False
    except Exception as e:                                   # noqa: BLE001 -- any other exception is the finding
        pytest.fail(f"{label}: {type(e).__name__}: {str(e)[:300]}")
    assert not (tmp_path / fuzz_mutate.MARKER).exists(), label
    if resumed:                                                 # accepted: it must train like a real one
        try:
            train()
        except Exception as e:                                 # noqa: BLE001
            pytest.fail(f"{label}: accepted, then {type(e).__name__}: {str(e)[:300]}")
        assert all(torch.isfinite(t).all() for t in tensors()), f"{label}: non-finite weights"


def fuzz_restores(kind: str, template, open_case, seeds, tmp_path, monkeypatch) -> None:
    """Damage ``template`` once per seed and ``check_restore`` it; ``open_case(path)`` gives the
    reader's (restore, train, tensors) for that file."""
    monkeypatch.chdir(tmp_path)
    for seed in seeds:
        rng = random.Random(f"{kind}/{seed}")
        case = tmp_path / f"{kind.replace(' ', '-')}-{seed}.pt"
        what = _write(case, template, rng)
        check_restore(f"{kind} case {seed} ({what})", case, tmp_path, *open_case(case))


def _dnas(made):
    search_of, template = made

    def open_case(case):
        search = search_of(case)
        return search.resume, search.run_epoch, lambda: [search.theta, *search.net.parameters()]
    return template, open_case


@pytest.mark.parametrize("seeds", [range(CASES), pytest.param(range(1000, 1300), marks=pytest.mark.slow)],
                         ids=["default", "many"])
def test_fuzz_dnas_checkpoint(made, tmp_path, monkeypatch, seeds):
    fuzz_restores("dnas checkpoint", *_dnas(made), seeds, tmp_path, monkeypatch)


# -- findings (each was accepted, then failed or poisoned the weights in the next epoch) --------------

def edited(template, path, value, case):
    """``case``: the checkpoint ``template`` with the entry at ``path`` set to ``value`` (or ``value(old)``)."""
    state = torch.load(template, weights_only=True)
    d = state
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value(d[path[-1]]) if callable(value) else value
    torch.save(state, case)
    return case


@pytest.mark.parametrize("path, value, field", [
    (("opt_w", "state", 0, "momentum_buffer"), 0.5, "opt_w.state.0.momentum_buffer"),   # was: AttributeError
    (("opt_w", "state", 0, "momentum_buffer"), lambda t: t * float("nan"), "opt_w.state.0.momentum_buffer"),
    (("opt_w", "state", 0), {}, "opt_w.state.0"),                                      # was: KeyError later
    (("opt_theta", "state", 0, "step"), torch.tensor(-3.0), "opt_theta.state.0.step"),
    (("opt_w", "param_groups", 0, "lr"), float("nan"), "opt_w.param_groups"),         # was: NaN weights
    (("opt_theta", "param_groups", 0, "lr"), 1e9, "opt_theta.param_groups"),
    (("net", "parts.0.0.0.weight"), lambda t: t * float("nan"), "net.parts.0.0.0.weight"),  # was: NaN
    (("net", "parts.0.0.0.weight"), lambda t: torch.full_like(t, 1e38), "net.parts.0.0.0.weight"),
    (("theta",), lambda t: torch.full_like(t, 1e38), "theta"),
    (("rng", "state", "state"), 10**400, "rng"),                                     # was: OverflowError
    (("rng", "state", "inc"), -1, "rng"),                                            # was: OverflowError
    (("rng", "state", "state"), 1.5, "rng"),                                         # was: truncated, accepted
    (("rng", "has_uint32"), "x", "rng"),
])
def test_checkpoint_values_are_refused(made, tmp_path, path, value, field):
    search_of, template = made
    case = edited(template, path, value, tmp_path / "dnas.pt")
    with pytest.raises(NasError) as e:
        search_of(case).resume()
    assert f"{case}: field {field}:" in str(e.value), str(e.value)


def test_template_checkpoint_resumes(made):
    search_of, template = made
    search = search_of(template)
    assert search.resume() and search.epoch == 1


# -- the JSON-lines files a resume trusts, fuzzed at their readers -----------------------------------

@pytest.fixture(scope="module")
def runs_file(made, tmp_path_factory):
    """A real ``dnas_runs.jsonl``: the tiny search finished and logged as a sweep logs it."""
    from nas.search.dnas.sweep import RunsLog
    search_of, _ = made
    search = search_of(None)
    path = tmp_path_factory.mktemp("runs") / "dnas_runs.jsonl"
    log = RunsLog(path, resume=False, space=search.space, pricer=search.pricer)
    log.add({"lr_theta": 0.05}, search.run())
    log.add({"lr_theta": 0.3}, log.get({"lr_theta": 0.05}))
    return path, lambda p: RunsLog(p, resume=True, space=search.space, pricer=search.pricer)


PARTIAL = "".join(json.dumps(r) + "\n" for r in [
    {"unit": "ort_cpu", "runtime": "x", "protocol": {"passes": 2}, "clock": "thread"},
    {"id": "overhead/0", "kind": "overhead", "pass": 0, "ms": [0.01, 0.02]},
    {"id": "conv/a", "kind": "op", "pass": 0, "ms": [1.5, 1.25]},
    {"id": "conv/a", "kind": "op", "pass": 1, "ms": [1.0, 1.1]},
    {"id": "calibration/0", "kind": "net", "pass": 0, "ms": [3.0]}]).encode()


COMPLETED = "".join(json.dumps({"arch": a, "accuracy": acc, "epoch": 3, "retries": r, "restored_from_epoch": e})
                    + "\n" for a, acc, r, e in [("32:conv_k3_s2_c8|gap,fc_c10", 0.5, 0, 0),
                                                 ("32:conv_k3_s2_c16|gap,fc_c10", 0.75, 1, 2)]).encode()


def check_lines(kind, seed, tmp_path, runs_file):
    from nas.profiling.local import Progress
    rng = random.Random(f"{kind}/{seed}")
    if kind == "partial":
        f, data = tmp_path / f"t{seed}.yaml.partial.jsonl", PARTIAL
        read = lambda p: Progress(p, json.loads(PARTIAL.splitlines()[0]), resume=True)   # noqa: E731
    elif kind == "ray completed":
        from nas.search.backends.ray_tune import CompletedLog
        f, data = tmp_path / f"completed{seed}.jsonl", COMPLETED
        read = lambda p: CompletedLog(p, resume=True)                                      # noqa: E731
    else:
        f, data, read = tmp_path / f"runs{seed}.jsonl", runs_file[0].read_bytes(), runs_file[1]
    f.write_bytes(fuzz_mutate.mutate(data, "jsonl", rng))
    before = f.read_bytes()
    label = f"{kind} case {seed}: {before[:120]!r}"
    try:
        read(f)
    except NasError as e:
        assert str(f) in str(e), f"{label}: the message names no file: {e}"
        assert f.read_bytes() == before, f"{label}: rewritten on a refusal"
    except Exception as e:                                   # noqa: BLE001 -- any other exception is the finding
        pytest.fail(f"{label}: {type(e).__name__}: {str(e)[:300]}")


@pytest.mark.parametrize("kind", ["partial", "dnas runs", "ray completed"])
def test_fuzz_resume_lines(kind, tmp_path, runs_file):
    for seed in range(CASES):
        check_lines(kind, seed, tmp_path, runs_file)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["partial", "dnas runs", "ray completed"])
def test_fuzz_resume_lines_many(kind, tmp_path, runs_file):
    for seed in range(1000, 1300):
        check_lines(kind, seed, tmp_path, runs_file)
