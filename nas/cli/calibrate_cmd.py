"""``nas tables calibrate``: refit the iPhone cost model and rewrite the predicted tables.

``register_calibrate(tables_subparsers)`` adds ``calibrate`` under the ``tables``
group (``nas.cli.tables_cmd.SUBCOMMANDS``).
"""

from __future__ import annotations

import json
from pathlib import Path

from nas.cli.progress import progress, say
from nas.errors import NasError
from nas.fsutil import check_output_file, check_output_folder
from nas.latency.costmodel.calibdata import DEFAULT_FILES
from nas.latency.regime import ARTICLE_RUNTIME, DEFAULT_RUNTIME, RUNTIMES

DEFAULT_REPORT = "experiments/article_speed/calibration.json"
TODAY_REPORT = "experiments/today_speed/calibration.json"


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
    parser.add_argument("--runtime", default=ARTICLE_RUNTIME, choices=sorted(RUNTIMES),
                        help=f"which regime to refit: {ARTICLE_RUNTIME} (the article's 2020 timings; --data/--add "
                             f"apply) or {DEFAULT_RUNTIME} (the public 2022+ timings; report default "
                             f"{TODAY_REPORT})")
    parser.set_defaults(func=cmd_calibrate)


def register_calibrate(tables_subparsers) -> None:
    """Add ``calibrate`` to the ``nas tables`` subcommands."""
    _add(tables_subparsers.add_parser("calibrate", help="refit the iPhone cost model, rewrite predicted tables"))


class _FoldBar:
    """The cross-validation's refits as a progress bar (minutes: each fold refits the whole model)."""

    def __init__(self):
        self.bar = None

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.bar is None:
            self.bar = progress(total=total, desc="cross-validation refits", unit="fit")
        self.bar.set_postfix_str(label, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_calibrate(args) -> int:
    bar = _FoldBar()
    try:
        return _calibrate(args, bar)
    finally:
        bar.close()


def check_paths(args) -> None:
    """Inputs readable and outputs writable, before minutes of fitting (the tables and report come last)."""
    for flag, files in (("--data", args.data or []), ("--add", args.add)):
        for f in files:
            if not Path(f).is_file():
                raise NasError(f"{flag} {f}: no such file")
    check_output_folder("--out-dir", args.out_dir)
    check_output_file("--report", args.report)


def _calibrate(args, bar) -> int:
    check_paths(args)
    say(f"fitting {args.runtime}" + ("; then cross-validating (one refit per fold)" if not args.no_cv else ""))
    if args.runtime == DEFAULT_RUNTIME:
        from nas.latency.costmodel.today_calibrate import calibrate_today, format_today
        report_path = TODAY_REPORT if args.report == DEFAULT_REPORT else args.report
        report = calibrate_today(args.out_dir, report_path, cv=not args.no_cv, on_fold=bar)
        bar.close()
        print(json.dumps(report, indent=1) if args.json else format_today(report))
        print(f"wrote {DEFAULT_RUNTIME} predicted tables to {args.out_dir}/ and the report to {report_path}")
        return 0
    from nas.latency.costmodel.calibrate import calibrate, format_report
    files = list(args.data or DEFAULT_FILES) + list(args.add)
    report = calibrate(files, args.out_dir, args.report, cv=not args.no_cv, on_fold=bar)
    bar.close()
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_report(report))
        print(f"wrote predicted tables to {args.out_dir}/ and the report to {args.report}")
    return 0
