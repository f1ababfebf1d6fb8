"""Package metadata: what the network is, what it costs, where its latency numbers come from.

Every value is a string (Core ML's user-defined metadata is a string map) and
the keys start with ``nas.``. ``nas check`` reads ``nas.dsl``, ``nas.input``,
``nas.normalize`` and ``nas.classifier`` back to know which ops to expect.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from nas import __version__
from nas.arch.counts import count
from nas.arch.resolve import resolve
from nas.arch.spec import NetSpec
from nas.errors import NasError, SpecError

if TYPE_CHECKING:
    from nas.export.package import ExportOptions
    from nas.export.torch_prep import Prepared

UNITS = ("cpu", "gpu", "ane")


class UnknownDevice(NasError):
    """A ``--device`` outside the registry with no latency table for any unit."""


def find_tables(device: str, weights: str | None = None) -> dict:
    """The table ``find_priced`` picks for each unit for ``weights`` (None: fp16), or the error that says there
    is none (found once: the metadata quotes these). A device outside the registry with no table for any
    unit is a typo, refused before any work (``UnknownDevice``): the package's metadata would quietly say
    'unavailable' for every unit. A table that exists but is refused -- damaged, crafted, two of one identity in
    a folder -- is refused here too, naming its file (hostile11: it became 'unavailable: median_ms must not be
    negative' in the metadata without the file, exit 0, and ``nas.latency_weights`` said no table of those
    weights existed)."""
    from nas.hardware.devices import DEVICES
    from nas.latency.store import NoTable, find_priced

    found = {}
    for unit in UNITS:
        try:
            found[unit] = find_priced(device, unit, None, weights)[0]
        except (NoTable, KeyError) as e:
            found[unit] = e
    if device not in DEVICES and all(isinstance(t, Exception) for t in found.values()):
        raise UnknownDevice(f"--device {device!r}: unknown, and no latency table for it; known: "
                            f"{', '.join(DEVICES)}")
    return found


def latency_metadata(spec: NetSpec, device: str, tables: dict | None = None) -> dict[str, str]:
    """Predicted or measured latency per compute unit, from the tables ``find_tables`` found."""
    from nas.latency import price_net

    out = {}
    for unit, table in (find_tables(device) if tables is None else tables).items():
        try:
            price = None if isinstance(table, Exception) else price_net(spec, table)
        except (NasError, KeyError) as e:
            table, price = e, None
        if price is None:         # no table for the unit, or one that cannot price the network
            why = table.reason if isinstance(table, SpecError) else str(table)
            out[f"nas.latency.{device}.{unit}"] = f"unavailable: {why.splitlines()[0][:200]}"
            continue
        out[f"nas.latency.{device}.{unit}_ms"] = f"{price.total_ms:.3f}"
        out[f"nas.latency.{device}.{unit}_source"] = f"{table.summary()} ({Path(table.source_name).name})"
    return out


def latency_weights(tables: dict, weights: str) -> str:
    """``nas.latency_weights``: which weights the ``nas.latency`` figures of a compressed package price."""
    found = {u: t for u, t in tables.items() if not isinstance(t, Exception)}
    own = [u for u, t in found.items() if t.weights == weights]
    fp16 = [u for u in found if u not in own]
    how = f"measure them with `nas profile-ops --compress {weights}` on a phone"
    if own and not fp16:
        return f"the nas.latency figures price {weights} weights (tables measured with them)"
    if own:
        return (f"the nas.latency figures price {weights} weights for {', '.join(own)} and fp16 weights for "
                f"{', '.join(fp16)} (no table of {weights} weights for those; {how})")
    return (f"the nas.latency figures price fp16 weights: no latency table of {weights} weights for this device "
            f"(none ships; {how})")


def _weights_note(weights) -> str:
    if weights is None:
        return "none"
    if isinstance(weights, (str, Path)):
        digest = hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:16]
        return f"{Path(weights).name} sha256:{digest}"
    return "in-memory state dict"


def package_metadata(net: NetSpec, prep: "Prepared", opts: "ExportOptions", weights=None,
                     tables: dict | None = None) -> dict[str, str]:
    import coremltools as ct
    import torch

    spec = prep.spec
    c = count(spec)
    out_shape = resolve(spec)[-1].out_shape
    meta = {
        "nas.version": __version__,
        "nas.architecture": net.name,
        "nas.dsl": str(spec),
        "nas.backbone_only": str(spec is not net).lower(),
        "nas.params": str(c.params),
        "nas.macs": str(c.macs),
        "nas.input": "tensor" if opts.tensor_input else "image",
        "nas.normalize": prep.normalize,
        "nas.classifier": str(prep.classifier).lower(),
        "nas.precision": opts.precision,
        "nas.min_target": opts.min_target,
        "nas.output_shape": "x".join(str(v) for v in out_shape),
        "nas.weights": _weights_note(weights) if weights is not None else f"random (seed {opts.seed})",
        "nas.torch_version": torch.__version__,
        "nas.coremltools_version": ct.__version__,
    }
    meta.update(latency_metadata(spec, opts.device, tables))
    return meta
