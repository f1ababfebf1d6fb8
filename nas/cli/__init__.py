"""The ``nas`` command line: the only place that parses arguments.

Each command group is a module with ``register(subparsers)``; its handlers call
into the library and print. User errors (``NasError``) exit with status 2 and
one message naming the file/layer/field, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from nas import __version__
from nas.cli.flagdeps import all_parsers, refuse_unread
from nas.errors import NasError

COMMAND_MODULES = (
    "nas.cli.zoo_cmd",
    "nas.cli.arch_cmd",
    "nas.cli.spaces_cmd",
    "nas.cli.profile_cmd",
    "nas.cli.latency_cmd",
    "nas.cli.tables_cmd",
    "nas.cli.export_cmd",
    "nas.cli.report_cmd",
    "nas.cli.search_cmd",
    "nas.cli.estimate_cmd",
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas", description="Hardware-aware neural architecture "
                                     "search for iPhones: profile ops, search, export to Core ML.")
    parser.add_argument("--version", action="version", version=f"nas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def _option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> its long option string, for every option of every (sub)command."""
    out: dict[str, str] = {}
    for p in all_parsers(parser):
        for a in p._actions:
            if a.option_strings:
                out.setdefault(a.dest, max(a.option_strings, key=len))
    return out


def _refuse_empty_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """An option given an empty value (``--space "$UNSET"``) is refused: read as "not given" it could start a
    different, far bigger job (``profile-ops`` without ``--space`` profiles every space and zoo model)."""
    names = _option_names(parser)
    for dest, value in vars(args).items():
        if dest in names and isinstance(value, str) and not value.strip():
            raise NasError(f"{names[dest]}: an empty value (leave the option out to use its default)")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parser.parse_args(argv)
    try:
        _refuse_empty_options(parser, args)
        refuse_unread(parser, argv, args)            # an option the command would not read (nas/cli/flagdeps.py)
        return int(args.func(args) or 0)
    except NasError as e:
        print(f"nas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nas: interrupted; completed work was saved and --resume continues it", file=sys.stderr)
        return 130
    except BrokenPipeError:                        # stdout closed early (`nas latency ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at interpreter exit
        return 141                                 # 128 + SIGPIPE, what a shell tool killed by it returns
    except OSError as e:                           # a path the file system refuses (too long, under a file, ...)
        name = str(e.filename) if e.filename is not None else ""
        name = name if len(name) <= 200 else f"{name[:200]}... ({len(name)} characters)"
        print(f"nas: error: {name + ': ' if name else ''}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
