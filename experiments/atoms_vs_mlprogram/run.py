"""Cost-model atoms against the exported ML program, every zoo model and the search-space sample.

    python experiments/atoms_vs_mlprogram/run.py [--out DIR]

Exports each network with ``nas.export.export_package`` (default options: fp16 ML program, image input),
reads the MIL program back and writes ``results.md`` (the per-network table) and ``results.json`` here.
"Package" counts come from the MIL program under the rules of ``nas.export.atomcheck.RULES``; "model"
counts from the cost model's atoms as today's regime prices them (``regime_traits(DEFAULT_RUNTIME)``).
Differences are listed, and those that are not exactly a reported ``atomcheck.OPEN`` mismatch separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from nas import zoo  # noqa: E402
from nas.export import export_package  # noqa: E402
from nas.export.atomcheck import OPEN, RULES, compare, model_tally, package_tally, probe_nets, unexplained  # noqa: E402
from nas.export.mil import read_program  # noqa: E402
from nas.fsutil import json_text, write_atomic  # noqa: E402
from nas.provenance import write_provenance  # noqa: E402

COLS = ("conv", "dwconv", "gconv", "linear")
LAYOUT = ("concat", "pad", "upsample", "gather", "transpose", "split")


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _pair(p: int, m: int) -> str:
    return str(p) if p == m else f"**{p} / {m}**"


def _row(name, pkg, mdl) -> tuple[str, dict]:
    acts = sorted(k for k in set(pkg.acts) | set(mdl.acts) if pkg.acts[k] or mdl.acts[k])
    act_txt = ", ".join(f"{k} {_pair(pkg.acts[k], mdl.acts[k])}" + (
        f" ({pkg.act_ops[k]} ops / {mdl.act_ops[k]} launches)" if pkg.act_ops[k] != pkg.acts[k] or
        mdl.act_ops[k] != mdl.acts[k] else "") for k in acts)
    elt = sorted(k for k in set(pkg.other) | set(mdl.other) if k not in LAYOUT)
    elt_txt = ", ".join(f"{k} {_pair(pkg.other[k], mdl.other[k])}" for k in elt)
    lay_txt = ", ".join(f"{k} {_pair(pkg.other[k], mdl.other[k])}" for k in LAYOUT if pkg.other[k] or mdl.other[k])
    diffs = compare(pkg, mdl)
    left = unexplained(diffs, pkg)
    cls_p, cls_m = pkg.classes(), mdl.classes()
    cells = [name] + [_pair(pkg.convs[c], mdl.convs[c]) for c in COLS] + [
        act_txt or "-", elt_txt or "-", lay_txt or "-", _pair(cls_p["eltwise"], cls_m["eltwise"]),
        str(pkg.fused_relu), str(sum(pkg.views.values())),
        "; ".join(f"{d.what} {d.package} vs {d.model}" for d in diffs) or "none",
        "; ".join(f"{d.what} {d.package} vs {d.model}" for d in left) or "none"]
    data = {"package": _dump(pkg), "model": _dump(mdl), "differences": [vars(d) for d in diffs],
            "unexplained": [vars(d) for d in left]}
    return "| " + " | ".join(cells) + " |", data


def _dump(t) -> dict:
    return {k: dict(sorted(getattr(t, k).items())) for k in ("convs", "acts", "act_ops", "other", "views", "prep",
                                                             "unmapped")} | {"fused_relu": t.fused_relu}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    torch.set_num_threads(1)
    import coremltools as ct
    nets = [(n, zoo.get(n).spec) for n in zoo.names()] + [(n.name, n) for n in probe_nets()]
    head = ("| network | conv | dwconv | gconv | linear | activation layers | other element-wise (package / model) | "
            "layout (package / model) | element-wise launches (package / model) | R1 relus | R2 views | "
            "differences | unexplained |")
    lines, data = [head, "|" + "---|" * (head.count("|") - 1)], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in tqdm(nets, desc="export + compare"):
            res = export_package(spec, Path(tmp) / f"{name}.mlpackage")
            pkg = package_tally(read_program(res.path))
            row, data[name] = _row(name, pkg, model_tally(res.spec))
            data[name]["normalize"] = res.normalize
            lines.append(row)
    n_diff = sum(bool(d["differences"]) for d in data.values())
    n_left = sum(bool(d["unexplained"]) for d in data.values())
    md = ["# Cost-model atoms vs the exported ML program (coreml-mlprogram-ios16)", "",
          f"Command: `python experiments/atoms_vs_mlprogram/run.py`; commit {_commit()}; coremltools {ct.__version__}, "
          f"torch {torch.__version__}, Python {platform.python_version()} (Linux: convert and read only).", "",
          f"{len(nets)} networks ({len(zoo.names())} zoo models, {len(nets) - len(zoo.names())} search-space "
          f"probes); networks with a difference: {n_diff}; with a difference that is not a reported OPEN mismatch: "
          f"{n_left}.", "", "Rules of the comparison (set aside, not counted against the model):", ""]
    md += [f"- {k}: {what} ({src})" for k, (what, src) in RULES.items()]
    md += ["", "Reported mismatches (atomcheck.OPEN: MIL ops per layer in the package, launches per layer priced): " +
           ", ".join(f"{k} {o} vs {n}" for k, (o, n) in OPEN.items()), "",
           "Cells: one number = package and model agree; **p / m** = they differ. Activation layers are counted "
           "once each (R1 relus not included), with MIL ops / priced launches where those differ from the layers.",
           ""] + lines
    write_atomic(args.out / "results.md", "\n".join(md) + "\n")
    write_atomic(args.out / "results.json", json_text({"coremltools": ct.__version__, "torch": torch.__version__,
                                                       "commit": _commit(), "rules": RULES,
                                                       "open": OPEN, "networks": data},
                                                      indent=1) + "\n")
    inputs = sorted((ROOT / "nas" / "zoo" / "models").glob("*.yaml")) + sorted((ROOT / "search_spaces").glob("*.yaml"))
    write_provenance(args.out, __file__, "python experiments/atoms_vs_mlprogram/run.py", inputs)
    print(f"{len(nets)} networks; with differences: {n_diff}; unexplained: {n_left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
