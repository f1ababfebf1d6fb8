"""Profiling bundles for the on-device harness (``ios_profiler``): one Core ML package per op.

Each op is traced (``torch.jit.trace``) and converted with coremltools to an
ML program: fp16 compute, fp16 input ``x`` and output ``y`` of fixed shape,
iOS 16 target (shared/reference/coreml-conversion-notes.md). Next to the ops
go *overhead* models -- a slice and a tile, same input and output shapes as
the ops that use them -- whose time the harness subtracts, and one entry
``__network_call__@CxHxW`` (the overhead model of a whole network's input and
output) whose time becomes the table's per-network overhead. Whole calibration
and validation networks (``nas.profiling.networks``) go in as one ML program
each, timed end to end (no overhead), with their layers' keys in the manifest
(``network``), for the in-network correction and the validation figures.
With ``weights`` (a ``nas.compress`` name such as lut4) every op and network package
has its weights compressed by the same ``compress_model`` as ``nas export --compress``
(overhead models have no weights and stay as they are); the manifest says ``weights``,
the bundle id hashes it in, and packages are named by key *and* weight format, so a
bundle folder resumed with another format converts its own packages and never mixes them.
``manifest.json``
follows ``ios_profiler/schema/manifest.schema.json``. Packages are written to
a temporary folder and renamed, so an interrupted bundle resumes where it
stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Callable, Sequence

from nas import __version__
from nas.compress import FP16, WEIGHT_FORMATS, compress_model
from nas.coreml_log import quiet_progress
from nas.errors import NasError
from nas.fsutil import LOCK_NAME, json_text, loads_json, lock_folder, write_atomic
from nas.arch.dsl import format_net
from nas.hardware.devices import get_device
from nas.profiling.bundlecheck import check_folders, check_reused
from nas.profiling.networks import ProtocolNet
from nas.profiling.ops import OpEntry, parse_op_key

MANIFEST_SCHEMA = "nas.profiling.manifest/1"
MODEL_FORMAT = "mlprogram"   # every bundle model is an fp16 ML program (ct.convert below); sets a table's regime
NETWORK_CALL = "__network_call__"
DEFAULT_PROTOCOL = {"warmup_runs": 10, "min_runs": 50, "min_time_s": 1.0, "max_runs": 2000, "cooldown_s": 0.2,
                    "shuffle": False, "seed": 0, "outlier_mad_k": 5.0}
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "ios_profiler" / "schema"


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(v) for v in shape)


def overhead_id(in_shape: Sequence[int], out_shape: Sequence[int]) -> str:
    return f"io_{_dims(in_shape)}_{_dims(out_shape)}"


def _tag(weights: str) -> str:
    return "" if weights == FP16 else f"#{weights}"      # fp16 names stay those of every earlier bundle


def op_file(key: str, weights: str = FP16) -> str:
    return f"ops/{hashlib.sha256((key + _tag(weights)).encode()).hexdigest()[:16]}.mlpackage"


def net_file(net: ProtocolNet, weights: str = FP16) -> str:
    """Named by content (architecture, weight seed, weight format), so a resumed bundle reuses a converted
    network."""
    text = f"{format_net(net.net)}#{net.weight_seed}{_tag(weights)}"
    return f"nets/{hashlib.sha256(text.encode()).hexdigest()[:16]}.mlpackage"


def _io_module(out_shape: Sequence[int]):
    import torch

    class IO(torch.nn.Module):
        """The near-empty model: one element of the input, tiled to the output shape."""

        def forward(self, x):
            return x[:, :1, :1, :1].reshape([1] * (len(out_shape) + 1)).expand(1, *out_shape)
    return IO().eval()


def _module(kind: str, key: str, extra):
    import torch
    if kind == "op":
        return parse_op_key(key).build()
    if kind == "net":  # key: the network's DSL; extra: its weight seed
        from nas.arch.build import build
        from nas.arch.dsl import parse_net
        with torch.random.fork_rng():
            torch.manual_seed(extra)
            return build(parse_net(key)).eval()
    return _io_module(extra)


def _ignore_sigint() -> None:
    """Conversion workers leave Ctrl-C to the parent, which drops the queue and ends them (``_stop``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor, root: Path, before: set) -> None:
    """On Ctrl-C or an error: drop the queue and end the workers now, before the bundle's lock is freed
    (left alone they worked through the whole queue, and the process hung at exit). A package is
    renamed into place only when complete, so a stopped conversion leaves at most its temporary folder,
    removed here; ``--resume`` converts what is missing. The workers are this process's children started
    since ``before`` (``multiprocessing.active_children`` when the pool was made): the pool lists its own
    only privately before Python 3.14, and ``shutdown`` alone lets a running conversion finish."""
    procs = [p for p in active_children() if p not in before]
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join()
    for tmp in root.glob("*/.tmp*"):
        shutil.rmtree(tmp, ignore_errors=True)


def _convert(job: tuple[str, str, tuple, object, str, str]) -> list[int]:
    """Convert one op (``kind`` op), overhead model (``io``; ``extra`` its output shape) or whole
    network (``net``; ``extra`` its weight seed) to ``dest``, weights compressed as ``weights`` says
    (ops and networks); returns the output shape."""
    kind, key, in_shape, extra, dest, weights = job
    import numpy as np
    import torch
    import coremltools as ct
    torch.set_num_threads(1)
    logging.disable(logging.WARNING)
    module = _module(kind, key, extra)
    x = torch.zeros(1, *in_shape)
    with torch.no_grad(), warnings.catch_warnings(), quiet_progress():    # no bars inside profile-ops' bar
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, x, check_trace=False)
        model = ct.convert(traced, inputs=[ct.TensorType(name="x", shape=x.shape, dtype=np.float16)],
                           outputs=[ct.TensorType(name="y", dtype=np.float16)], convert_to="mlprogram",
                           compute_precision=ct.precision.FLOAT16,
                           minimum_deployment_target=ct.target.iOS16)
        if weights != FP16 and kind != "io":
            model = compress_model(model, weights)
    dest_path = Path(dest)
    tmp = dest_path.with_name(f".tmp{os.getpid()}-{dest_path.name}")  # keeps the .mlpackage suffix
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    os.replace(tmp, dest_path)
    return package_output_shape(dest_path)


def package_output_shape(path: Path) -> list[int]:
    import coremltools as ct
    spec = ct.utils.load_spec(str(path))
    return [int(v) for v in spec.description.output[0].type.multiArrayType.shape]


def _tensor(shape: Sequence[int], name: str) -> dict:
    return {"name": name, "shape": [int(v) for v in shape], "dtype": "float16"}


def hash_package(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def bundle_id(root: Path, entries: Sequence[dict], overheads: Sequence[dict], weights: str = FP16) -> str:
    """SHA-256 over the weight format (when not fp16), the sorted keys/ids and their packages' content
    hashes."""
    h = hashlib.sha256()
    if weights != FP16:
        h.update(f"weights {weights}\n".encode())
    for name, file in sorted([(e["key"], e["file"]) for e in entries] + [(o["id"], o["file"]) for o in overheads]):
        h.update(name.encode() + b"\0" + hash_package(root / file).encode() + b"\n")
    return h.hexdigest()


def write_bundle(entries: Sequence[OpEntry], device: str, units: Sequence[str], out: str | os.PathLike, *,
                 network_io: tuple[tuple, tuple] | None = None, networks: Sequence[ProtocolNet] = (),
                 resume: bool = False, workers: int = 2, weights: str = FP16,
                 protocol: dict | None = None, bar=None, hook: Callable[[int], None] | None = None) -> Path:
    """Write (or finish) a bundle, holding the folder's lock (one writer); returns the manifest's path."""
    dev = get_device(device)
    if weights not in WEIGHT_FORMATS:
        raise NasError(f"weights must be one of {', '.join(WEIGHT_FORMATS)}, got {weights!r}")
    with lock_folder(out, f"bundle folder {out}"):
        return _write_bundle(entries, dev, units, Path(out), network_io=network_io, networks=networks,
                             resume=resume, workers=workers, weights=weights, protocol=protocol, bar=bar, hook=hook)


def _write_bundle(entries, dev, units, root: Path, *, network_io, networks, resume, workers, weights, protocol,
                  bar, hook) -> Path:
    if any(p.name != LOCK_NAME for p in root.iterdir()) and not resume:
        raise NasError(f"{root} is not empty: pass --resume to finish that bundle, or choose another --out")
    check_folders(root)         # before the first write (docs/robustness.md)
    (root / "ops").mkdir(parents=True, exist_ok=True)
    (root / "overheads").mkdir(parents=True, exist_ok=True)
    (root / "nets").mkdir(parents=True, exist_ok=True)
    net_entry = None
    if network_io is not None:
        net_in, net_out = network_io
        net_entry = (f"{NETWORK_CALL}@{_dims(net_in)}", tuple(net_in), tuple(net_out))
    jobs, manifest_entries, overheads = [], [], {}
    for e in entries:
        oid = overhead_id((1, *e.in_shape), (1, *e.out_shape))
        overheads.setdefault(oid, (e.in_shape, e.out_shape))
        file = op_file(e.key, weights)
        manifest_entries.append({"key": e.key, "file": file, "inputs": [_tensor((1, *e.in_shape), "x")],
                                 "outputs": [_tensor((1, *e.out_shape), "y")], "overhead": oid})
        jobs.append(("op", e.key, e.in_shape, None, str(root / file), weights))
    for oid, (i, o) in overheads.items():
        jobs.append(("io", oid, i, o, str(root / f"overheads/{oid}.mlpackage"), FP16))
    if net_entry is not None:
        key, i, o = net_entry
        manifest_entries.append({"key": key, "file": op_file(key), "inputs": [_tensor((1, *i), "x")],
                                 "outputs": [_tensor((1, *o), "y")]})
        jobs.append(("io", key, i, o, str(root / op_file(key)), FP16))
    for n in networks:  # whole networks: end-to-end time, per-call cost included (no overhead subtracted)
        shape = (n.net.in_channels, *n.net.input_size)
        manifest_entries.append({"key": n.key, "file": net_file(n, weights), "inputs": [_tensor((1, *shape), "x")],
                                 "outputs": [_tensor((1, 1), "y")], "network": n.to_manifest()})
        jobs.append(("net", format_net(n.net), shape, n.weight_seed, str(root / net_file(n, weights)), weights))
    for kind, key, in_shape, _, dest, _ in jobs:   # what a resumed folder holds, before any conversion
        if os.path.lexists(dest):
            check_reused(Path(dest), key if kind != "net" else f"network {key[:60]}", in_shape)
    todo = [j for j in jobs if not os.path.lexists(j[4])]
    if bar is not None:
        bar.total = len(jobs)
        bar.update(len(jobs) - len(todo))
    done = 0
    # Longest first (whole networks, then ops), so that two processes finish together.
    todo.sort(key=lambda j: j[0] != "net")
    if todo:
        if workers <= 1:
            results = map(_convert, todo)
        else:
            before = set(active_children())
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint,
                                       mp_context=get_context("fork" if os.name == "posix" else "spawn"))
            results = pool.map(_convert, todo)
        try:
            for _ in results:
                done += 1
                if bar is not None:
                    bar.update(1)
                if hook is not None:
                    hook(done)
        except BaseException:
            if workers > 1:
                _stop(pool, root, before)
            raise
        if workers > 1:
            pool.shutdown()
    for m in manifest_entries:  # the converted package decides the declared output shape
        m["outputs"][0]["shape"] = package_output_shape(root / m["file"])
    ov_list = []
    for oid, (i, o) in overheads.items():
        file = f"overheads/{oid}.mlpackage"
        ov_list.append({"id": oid, "file": file, "inputs": [_tensor((1, *i), "x")],
                        "outputs": [_tensor(package_output_shape(root / file), "y")]})
    manifest = {"schema": MANIFEST_SCHEMA, "bundle_id": bundle_id(root, manifest_entries, ov_list, weights),
                "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "generator": f"nas {__version__}", "device": dev.name, "hardware_ids": list(dev.hardware_ids),
                "units": list(units), "precision": "fp16", **({} if weights == FP16 else {"weights": weights}),
                "protocol": dict(protocol or DEFAULT_PROTOCOL), "overheads": ov_list, "entries": manifest_entries}
    path = root / "manifest.json"
    write_atomic(path, json_text(manifest, indent=1) + "\n")
    return path


def validate_manifest(manifest: dict) -> None:
    """Check a manifest against the shared JSON schema; raises NasError naming the field."""
    import jsonschema
    schema = loads_json((SCHEMA_DIR / "manifest.schema.json").read_text())
    err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(manifest))
    if err is not None:
        raise NasError(f"manifest: {'/'.join(map(str, err.absolute_path)) or '(root)'}: {err.message}")
