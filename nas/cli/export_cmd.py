"""``nas export`` (a description to an .mlpackage) and ``nas check`` (inspect a saved package)."""

from __future__ import annotations

import json
from pathlib import Path

from nas.cli.arch_cmd import add_net_source, load_arch, net_from_args
from nas.bounds import seed
from nas.errors import NasError
from nas.text import control_char
from nas.export import ExportOptions, export_package
from nas.export.ane import ane_report
from nas.export.checks import check_counts
from nas.export.mil import read_program
from nas.compress import COMPRESSIONS
from nas.export.package import PRECISIONS, TARGETS
from nas.export.torch_prep import labels_problem


def register(sub) -> None:
    p = sub.add_parser("export", help="export a zoo model or an architecture to a Core ML package")
    add_net_source(p)
    p.add_argument("--weights", help="a state dict saved with torch.save(model.state_dict(), path)")
    p.add_argument("--out", required=True, help="NAME.mlpackage")
    p.add_argument("--precision", choices=PRECISIONS, default="fp16")
    p.add_argument("--tensor-input", action="store_true",
                   help="a normalized 1x3xHxW tensor input instead of an RGB image")
    p.add_argument("--labels", help="a text file with one class label per line: a classifier package")
    p.add_argument("--backbone-only", action="store_true",
                   help="cut at the last feature map (before global pooling / fc)")
    p.add_argument("--min-target", choices=TARGETS, default="iOS16", help="minimum deployment target")
    p.add_argument("--compress", choices=tuple(COMPRESSIONS),
                   help="compress weights of >= 2048 elements (coremltools post-training, no data): "
                        + "; ".join(f"{c.name} = {c.what}" for c in COMPRESSIONS.values())
                        + ". Prints the weight file's size and the weight error; accuracy is not measured "
                          "here, and the latency metadata prices these weights only from a table measured "
                          "with them (`nas profile-ops --compress`; none ships), else fp16 (nas.latency_weights)")
    p.add_argument("--device", default="iphone11", help="latency tables quoted in the metadata")
    p.add_argument("--seed", type=int, default=0, help="weights seed when --weights is not given")
    p.add_argument("--report", action="store_true", help="print the Neural Engine compatibility report")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    c = sub.add_parser("check", help="op counts and Neural Engine compatibility of a saved package")
    c.add_argument("package", help="NAME.mlpackage")
    c.add_argument("--arch", help="compare op counts with this description instead of the package's own")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)


def read_labels(path: str) -> tuple[str, ...]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise NasError(f"{path}: cannot read labels ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise NasError(f"{path}: not a text file of labels (not UTF-8 at byte {e.start})") from None
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        label = line.strip()
        where = control_char(label)     # an app shows the label: an escape or a bidi override shows another text
        if where:
            raise NasError(f"--labels {path}: line {n}: label {label[:60]!r} holds a control character ({where})")
        if label in seen:
            raise NasError(f"--labels {path}: line {n}: label {label[:60]!r} repeats line {seen[label]} (labels "
                           f"must be unique)")
        if label:
            seen[label] = n
    if not seen:
        raise NasError(f"--labels {path}: no labels (one per line)")
    return tuple(seen)


def _macos_lines(result=None, package: str | None = None, precision: str = "fp16") -> list[str]:
    from nas.export import macos

    if not macos.is_macos():
        return ["macOS checks skipped: prediction against torch and MLComputePlan need Core ML (macOS)"]
    out = []
    if result is not None:
        out.append(macos.compare_prediction(result, precision).line())
    try:
        out += macos.plan_lines(macos.compute_plan(package or result.path))
    except Exception as e:  # compute plans need macOS 14.4+ and coremltools 8.1+
        out.append(f"MLComputePlan unavailable: {e}")
    return out


def cmd_export(args) -> int:
    seed("--seed", args.seed)
    net = net_from_args(args)
    labels = read_labels(args.labels) if args.labels else None
    why = labels_problem(net, labels, args.backbone_only)
    if why:
        raise NasError(f"--labels {args.labels}: {why} (network {net.name})")
    opts = ExportOptions(precision=args.precision, tensor_input=args.tensor_input, labels=labels,
                         backbone_only=args.backbone_only, min_target=args.min_target, seed=args.seed,
                         device=args.device, compress=args.compress)
    result = export_package(net, args.out, weights=args.weights, options=opts)
    prog = read_program(result.path)
    counts = check_counts(prog, result.spec)
    report = ane_report(prog) if args.report else None
    mac = _macos_lines(result, precision=args.precision)
    if args.json:
        print(json.dumps({"package": str(result.path), "input": result.input_name,
                          "outputs": list(result.output_names), "metadata": result.metadata,
                          "op_counts": counts.to_json(), "ane": report.to_json() if report else None,
                          "compression": result.compression.to_json() if result.compression else None,
                          "macos": mac}, indent=1))
    else:
        m = result.metadata
        print(f"wrote {result.path}: {m['nas.architecture']}, {int(m['nas.params']) / 1e6:.3f}M params, "
              f"{int(m['nas.macs']) / 1e6:.1f}M MACs, {args.precision}, min {args.min_target}")
        print(f"  input {result.input_name} ({m['nas.input']}, 1/std {m['nas.normalize']}), "
              f"outputs {', '.join(result.output_names)}")
        for k, v in m.items():
            if k.startswith("nas.latency."):
                print(f"  {k[len('nas.latency.'):]}: {v}")
        if result.compression:
            print(f"  {result.compression.line()}")
            print(f"  {m['nas.latency_weights']}; the weight SQNR is a weight error, not an accuracy: check the "
                  f"compressed package's accuracy on your data (Core ML prediction needs macOS)")
        print("\n".join(counts.lines()))
        if report:
            print("\n".join(report.lines()))
        print("\n".join(mac))
    return 0 if counts.ok else 1


def cmd_check(args) -> int:
    prog = read_program(args.package)
    spec = load_arch(args.arch) if args.arch else None
    counts = check_counts(prog, spec) if spec or "nas.dsl" in prog.metadata else None
    report = ane_report(prog)
    mac = _macos_lines(package=args.package)
    if args.json:
        print(json.dumps({"package": args.package, "op_counts": counts.to_json() if counts else None,
                          "ane": report.to_json(), "macos": mac}, indent=1))
    else:
        print(f"{args.package}: ML program ({prog.opset}), {len(prog.ops)} ops")
        if "nas.compression" in prog.metadata:
            print(f"  weights {prog.metadata['nas.compression']}; weight SQNR "
                  f"{prog.metadata.get('nas.compression_weight_sqnr_db', 'not recorded')}")
        print("\n".join(counts.lines()) if counts else
              "op counts not compared: the package has no nas.dsl metadata (pass --arch)")
        print("\n".join(report.lines()))
        print("\n".join(mac))
    return 0 if counts is None or counts.ok else 1
