"""Measuring ops and networks on this machine: ONNX Runtime on CPU (``ort_cpu``) and torch eager
(``torch_cpu``), one thread, as deployed.

ONNX Runtime runs each model exported with ``torch.onnx.export`` (opset 17,
static shapes), one intra-op thread, sequential execution, all graph
optimizations on; inputs and outputs are bound once (``io_binding``) so a timed
call copies nothing. Each op is timed as its own model, round-robin with all the
others (``nas.profiling.measure``); a one-element model's time (the fixed
per-call cost) is measured in the same rounds and subtracted. Progress is a
JSON Lines file appended (and fsynced) after each op's pass, so an interrupted
run resumes without measuring anything twice.
"""

from __future__ import annotations

import io
import os
import platform
import warnings
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nas.errors import NasError
from nas.fsutil import is_finite_number, json_text, write_atomic
from nas.jsonlog import append_json_line, bad_line, read_log
from nas.latency.table import Stat
from nas.profiling.measure import Protocol, measure, one_pass, summarize, warm_up
from nas.profiling.ops import OpEntry

OVERHEAD_ID = "__call_overhead__"


class _Tiny:
    """The fixed-cost model: one multiply on one element."""

    @staticmethod
    def module():
        import torch

        class Tiny(torch.nn.Module):
            def forward(self, x):
                return x * 2.0
        return Tiny().eval()


class OrtRuntime:
    unit = "ort_cpu"

    def __init__(self):
        import onnxruntime as ort
        self.ort = ort
        self.name, self.version = "onnxruntime", ort.__version__

    def export(self, module, in_shape) -> bytes:
        import torch
        buf = io.BytesIO()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), torch.zeros(1, *in_shape), buf, opset_version=17,
                              dynamo=False, do_constant_folding=False, input_names=["x"],
                              output_names=["y"])  # ORT folds constants (BN into conv) itself
        return buf.getvalue()

    def prepare(self, module, in_shape, seed: int = 0) -> Callable[[], object]:
        ort = self.ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        sess = ort.InferenceSession(self.export(module, in_shape), opts, providers=["CPUExecutionProvider"])
        binding = sess.io_binding()
        x = np.random.default_rng(seed).uniform(-1, 1, (1, *in_shape)).astype(np.float32)
        values = [ort.OrtValue.ortvalue_from_numpy(x)]
        binding.bind_ortvalue_input("x", values[0])
        for out in sess.get_outputs():
            values.append(ort.OrtValue.ortvalue_from_shape_and_type(out.shape, np.float32))
            binding.bind_ortvalue_output(out.name, values[-1])

        def call(_s=sess, _b=binding, _keep=values):
            _s.run_with_iobinding(_b)
        return call

    def settings(self) -> dict:
        return {"intra_op_num_threads": 1, "execution_mode": "sequential", "graph_optimization": "all",
                "opset": 17, "io_binding": True}


class TorchRuntime:
    unit = "torch_cpu"

    def __init__(self):
        import torch
        torch.set_num_threads(1)
        self.torch = torch
        self.name, self.version = "torch", str(torch.__version__)

    def prepare(self, module, in_shape, seed: int = 0) -> Callable[[], object]:
        torch = self.torch
        x = torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, (1, *in_shape)).astype(np.float32))
        module = module.eval()

        def call():
            with torch.inference_mode():
                return module(x)
        return call

    def settings(self) -> dict:
        return {"num_threads": 1, "mode": "eager, inference_mode"}


RUNTIMES = {"ort_cpu": OrtRuntime, "torch_cpu": TorchRuntime}


def get_runtime(unit: str):
    if unit not in RUNTIMES:
        raise NasError(f"--device local measures units {', '.join(RUNTIMES)}, not {unit!r}")
    return RUNTIMES[unit]()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_provenance(runtime, protocol: Protocol) -> dict:
    return {"hardware": cpu_model(), "cpus": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "runtime": runtime.name, "runtime_version": runtime.version,
            "runtime_settings": runtime.settings(), "date": date.today().isoformat(),
            "protocol": protocol.to_dict()}


def corrected(stat: Stat, overhead_ms: float) -> Stat:
    """An op model's timings less the fixed per-call cost (never below zero)."""
    sub = lambda v: None if v is None else max(0.0, v - overhead_ms)  # noqa: E731
    return Stat(sub(stat.median_ms), sub(stat.p10_ms), sub(stat.p90_ms), stat.mad_ms, stat.n,
                {"raw_ms": round(stat.median_ms, 6), "call_overhead_ms": round(overhead_ms, 6)})


def _bad_row(r, passes: int) -> tuple[str, str] | None:
    """(field, why) when a line of the partial file is not a record ``Progress.add`` writes."""
    if not isinstance(r, dict) or set(r) != {"id", "kind", "pass", "ms"}:
        return "(root)", "expected a mapping with keys id, kind, pass, ms"
    if not isinstance(r["id"], str) or not isinstance(r["kind"], str):
        return ("id" if not isinstance(r["id"], str) else "kind"), "expected text"
    if type(r["pass"]) is not int or not 0 <= r["pass"] < passes:
        return "pass", f"{r['pass']!r:.40} is not a pass in 0..{passes - 1}"
    ms = r["ms"]
    if not isinstance(ms, list) or not 1 <= len(ms) <= 10_000_000 or \
            not all(is_finite_number(v) and 0 <= v <= 1e6 for v in ms):
        return "ms", "expected a list of timings, each a finite number of milliseconds in [0, 1e6]"
    return None


class Progress:
    """The resumable record of a local profile (JSON Lines): a header, then one line per finished
    (model, pass) with its samples. Lines are appended and fsynced; a half-written last line (a
    crash mid-write) is dropped on reading."""

    def __init__(self, path: Path, header: dict, resume: bool):
        self.path, self.header = Path(path), header
        self.rows: list[dict] = []
        if self.path.exists() and self.path.stat().st_size:
            if not resume:
                raise NasError(f"{path} exists (an earlier, interrupted profile): pass --resume to continue "
                               f"it, or delete it to start over")
            rows = read_log(self.path, "an interrupted profile")
            passes = (header.get("protocol") or {}).get("passes", 1 << 30)
            seen: dict[tuple, int] = {}
            for i, r in rows[1:]:
                bad = _bad_row(r, passes)
                if bad is None and (r["id"], r["pass"]) in seen:
                    bad = "id", f"{r['id']!r:.80} pass {r['pass']} repeats line {seen[(r['id'], r['pass'])]}"
                if bad is not None:
                    raise bad_line(path, i, *bad, "this profile run")
                seen[(r["id"], r["pass"])] = i
            rows = [r for _, r in rows]
            old = rows[0] if rows and isinstance(rows[0], dict) else {}
            for k in ("unit", "runtime", "protocol", "clock"):
                if old.get(k) != header.get(k):
                    raise NasError(f"{path}: cannot resume, its {k} is {old.get(k)!r}, this run's is "
                                   f"{header.get(k)!r}; delete it or use the same settings")
            self.rows = rows[1:]
            write_atomic(self.path, "".join(json_text(r) + "\n" for r in rows))
        else:
            write_atomic(self.path, json_text(header) + "\n")

    def passes_done(self, item_id: str) -> set[int]:
        return {r["pass"] for r in self.rows if r["id"] == item_id}

    def samples(self, item_id: str) -> list[float]:
        return [v for r in self.rows if r["id"] == item_id for v in r["ms"]]

    def add(self, item_id: str, kind: str, pass_index: int, samples: Sequence[float]) -> None:
        row = {"id": item_id, "kind": kind, "pass": pass_index, "ms": [round(v, 6) for v in samples]}
        append_json_line(self.path, row)
        self.rows.append(row)


def profile_ops(entries: Sequence[OpEntry], runtime, protocol: Protocol, progress: Progress, *,
                group: int = 160, hook: Callable[[int], None] | None = None, bar=None) -> dict[str, Stat]:
    """Measure every (entry, pass) not yet in ``progress``, round-robin over up to ``group`` op models
    and the fixed-cost model; returns every entry's timings less the fixed per-call cost."""
    todo = [e for e in entries if len(progress.passes_done(e.key)) < protocol.passes]
    if bar is not None:
        bar.total = len(entries) * protocol.passes
        bar.update(sum(min(len(progress.passes_done(e.key)), protocol.passes) for e in entries))
    recorded = 0
    for start in range(0, len(todo), group):
        chunk = todo[start:start + group]
        calls = [runtime.prepare(_Tiny.module(), (1, 1, 1))]
        calls += [runtime.prepare(e.build(), e.in_shape, e.seed) for e in chunk]
        warm_up(calls, protocol)
        for p in range(protocol.passes):
            need = [i for i, e in enumerate(chunk) if p not in progress.passes_done(e.key)]
            if not need:
                continue
            samples = one_pass([calls[0]] + [calls[i + 1] for i in need], protocol, p)
            progress.add(f"{OVERHEAD_ID}/{len(progress.rows)}", "overhead", p, samples[0])
            for i, s in zip(need, samples[1:]):
                progress.add(chunk[i].key, "op", p, s)
                recorded += 1
                if bar is not None:
                    bar.update(1)
                if hook is not None:
                    hook(recorded)
        del calls
    overhead = call_overhead(progress).median_ms
    return {e.key: corrected(summarize(progress.samples(e.key)), overhead) for e in entries}


def call_overhead(progress: Progress) -> Stat:
    """The fixed per-call cost (all its samples): what one network call pays once."""
    vals = [v for r in progress.rows if r["kind"] == "overhead" for v in r["ms"]]
    if not vals:
        raise NasError(f"{progress.path}: no overhead measured")
    return summarize(vals)


def measure_nets(nets, runtime, protocol: Protocol, *, seed: int = 0, bar=None) -> list[Stat]:
    """End-to-end timings of whole networks, round-robin like ops (fixed per-call cost included)."""
    from nas.arch.build import build
    import torch
    calls = []
    for i, net in enumerate(nets):
        with torch.random.fork_rng():
            torch.manual_seed(seed + i)
            module = build(net).eval()
        calls.append(runtime.prepare(module, (net.in_channels, *net.input_size), seed + i))
        if bar is not None:
            bar.update(1)
    return [summarize(s) for s in measure(calls, protocol)]
