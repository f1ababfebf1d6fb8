"""``nas tables calibrate``: refit the iPhone cost model and rewrite the predicted tables.

``register_calibrate(tables_subparsers)`` adds ``calibrate`` under the ``tables``
group (``nas.cli.tables_cmd.SUBCOMMANDS``).
"""

from __future__ import annotations

import json

from nas.latency.costmodel.calibdata import DEFAULT_FILES

DEFAULT_REPORT = "experiments/article_speed/calibration.json"


def _add(parser) -> None:
    parser.add_argument("--data", nargs="+", metavar="FILE", default=None,
                        help="calibration files: whole-model timings (format in nas/latency/costmodel/"
                             "calibdata.py) and/or the public-timings file; default: the shipped ones")
    parser.add_argument("--add", nargs="+", metavar="FILE", default=[],
                        help="extra whole-model timings (e.g. your phone's) on top of the shipped files")
    parser.add_argument("--out-dir", default="latency_tables", help="where the predicted tables go")
    parser.add_argument("--report", default=DEFAULT_REPORT, help="JSON fit report (incl. cross-validation)")
    parser.add_argument("--no-cv", action="store_true", help="skip leave-one-model-out cross-validation")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=cmd_calibrate)


def register_calibrate(tables_subparsers) -> None:
    """Add ``calibrate`` to the ``nas tables`` subcommands."""
    _add(tables_subparsers.add_parser("calibrate", help="refit the iPhone cost model, rewrite predicted tables"))


def cmd_calibrate(args) -> int:
    from nas.latency.costmodel.calibrate import calibrate, format_report
    files = list(args.data or DEFAULT_FILES) + list(args.add)
    report = calibrate(files, args.out_dir, args.report, cv=not args.no_cv)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_report(report))
        print(f"wrote predicted tables to {args.out_dir}/ and the report to {args.report}")
    return 0
