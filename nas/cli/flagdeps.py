"""Options that mean something only together with another option: one declarative table, checked once.

A flag the command never reads under the other settings (``--workers`` with
``--backend local``, ``--study-name`` without ``--storage``) used to be ignored
silently, so the user believed a setting took effect that did not. ``RULES``
says, per command, when each such option is read; ``refuse_unread`` (run by
``nas.cli.main`` before the command, so before anything is written) refuses an
option the user gave whose condition does not hold, with one line naming both
flags. ``INDEPENDENT`` lists the options read whatever else is given;
``tests/test_flag_dependencies.py`` walks the real parser so that every option
of every command is in one of the two (docs/robustness.md, "Options that need
another option"). The search command's rules, all but three options the
library never sees, are ``nas.search.needs.NEEDS``, which ``nas.search.prepare``
also checks for Python callers: one table, one message.

"The user gave it" is argparse's own record: the command line parsed again with
every default suppressed, so ``--workers 2`` (the default value, typed) counts.
A few values that ask for nothing (``--calibrate 0``, ``--early-stop none``)
are accepted anywhere: what they say holds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

from nas.errors import NasError
from nas.latency.regime import ARTICLE_RUNTIME
from nas.search.needs import NEEDS, differentiable


@dataclass(frozen=True)
class Rule:
    command: tuple[str, ...]
    option: str                           # the long flag, as the parser spells it
    holds: Callable[[argparse.Namespace], bool]   # the option is read when this holds
    needs: str                            # the condition in words, naming its flags
    why: str


def _as_search_config(holds):
    """A search need's condition, read on parsed arguments: ``SearchConfig``'s names (``export``, not
    ``no_export``); the other names the rules read are the same in both."""
    return lambda a: holds(argparse.Namespace(**vars(a), export=not a.no_export))


def _bundle(a) -> bool:
    return a.device != "local"


def _spaces(a) -> bool:                  # profile-ops draws networks: --space, or nothing named (every space)
    return bool(a.space) or not (a.zoo or a.zoo_all or a.ops)


S, V, P, E = ("search",), ("tables", "validate"), ("profile-ops",), ("estimate",)
LOCAL_ONLY = "a local validation reads it (networks timed here); --results checks a device's run"
PROTOCOL = "the harness times a bundle with the protocol fixed in its manifest"
RULES: tuple[Rule, ...] = (
    *(Rule(S, n.option, _as_search_config(n.holds), n.needs, n.why) for n in NEEDS),   # nas/search/needs.py
    Rule(S, "--budget", lambda a: differentiable(a) or a.trials is None, "cannot go with --trials",
         "--trials sets the number of candidates; --budget only names a default number"),
    Rule(S, "--dnas-loss", differentiable, "needs --strategy dnas", "it is the supernet's training loss"),
    Rule(S, "--device-torch", differentiable, "needs --strategy dnas", "it is the supernet's torch device"),
    *(Rule(P, o, lambda a: not _bundle(a), "needs --device local", PROTOCOL)
      for o in ("--min-runs", "--min-time", "--max-runs", "--passes", "--warmup", "--clock", "--seed")),
    Rule(P, "--replace", lambda a: not _bundle(a), "needs --device local", "it overwrites a finished local table"),
    Rule(P, "--workers", _bundle, "cannot go with --device local", "it is the number of Core ML conversion "
         "processes of a bundle; a local profile measures in this process"),
    Rule(P, "--compress", _bundle, "cannot go with --device local", "onnxruntime and torch take no Core ML "
         "weight compression; it compresses the packages of a Core ML bundle (an iPhone, or mac)"),
    Rule(P, "--zoo", lambda a: not a.zoo_all, "cannot go with --zoo-all", "--zoo-all takes every zoo model"),
    Rule(P, "--calibrate", lambda a: a.calibrate == 0 or bool(a.space) or (_bundle(a) and _spaces(a)),
         "needs --space (or a device bundle of every shipped space: no --zoo, --zoo-all or --ops)",
         "calibration networks are drawn from a space; a local profile without --space fits no correction"),
    Rule(P, "--validate", lambda a: a.validate == 0 or (_bundle(a) and _spaces(a)), "needs a device bundle "
         "(not --device local) and --space", "validation networks are drawn from a space into a bundle"),
    Rule(V, "--manifest", lambda a: bool(a.results), "needs --results", "it is the bundle of a device's results"),
    *(Rule(V, o, lambda a: not a.results, "cannot go with --results", LOCAL_ONLY)
      for o in ("--drift-networks", "--unit", "--space", "--samples", "--seed", "--table", "--out", "--min-runs",
                "--min-time")),
    *(Rule(("tables", "calibrate"), o, lambda a: a.runtime == ARTICLE_RUNTIME,
           f"needs --runtime {ARTICLE_RUNTIME}", "the coreml-mlprogram-ios16 fit reads only the shipped "
           "public timings") for o in ("--data", "--add")),
    Rule(("export",), "--seed", lambda a: not a.weights, "cannot go with --weights",
         "it seeds random weights; --weights gives them"),
    Rule(("export",), "--labels", lambda a: not a.backbone_only, "cannot go with --backbone-only",
         "labels name a classifier's outputs; a backbone has none"),
    Rule(("latency",), "--allow-other-device", lambda a: bool(a.table), "needs --table",
         "it accepts a --table file made for another device or unit"),
    Rule(E, "--space", lambda a: a.accuracy == "proxy", "needs --accuracy proxy",
         "its reference sample calibrates the proxy only"),
    *(Rule(E, o, lambda a: a.accuracy == "train", "needs --accuracy train", "only training reads it")
      for o in ("--data", "--train-epochs", "--train-resolution")),
    Rule(E, "--cache", lambda a: not a.no_cache, "cannot go with --no-cache", "--no-cache reads and writes no cache"),
)

# Options read whatever else is given (per command); the completeness test needs every option here or in RULES.
INDEPENDENT: dict[tuple[str, ...], tuple[str, ...]] = {
    ("zoo", "list"): ("--json",), ("zoo", "show"): ("--dsl",), ("arch", "show"): ("--json",),
    ("spaces", "list"): ("--json",), ("spaces", "show"): ("--json",), ("spaces", "sample"): ("-n", "--seed"),
    P: ("--device", "--unit", "--space", "--zoo-all", "--ops", "--out", "--resume"),
    ("latency",): ("--model", "--arch", "--table", "--device", "--unit", "--runtime", "--json", "--compress"),
    ("tables", "import"): ("--manifest", "--out", "--allow-other-device"),
    V: ("--device", "--results", "--json"),
    ("tables", "show"): ("--json",),
    ("tables", "calibrate"): ("--out-dir", "--report", "--no-cv", "--json", "--runtime"),
    ("export",): ("--model", "--arch", "--weights", "--out", "--precision", "--tensor-input", "--backbone-only",
                  "--min-target", "--device", "--report", "--json", "--compress"),
    ("check",): ("--arch", "--json"),
    ("report",): ("--device", "--unit", "--search-dir", "--model", "--out", "--runtime", "--compress"),
    S: ("--space", "--target-ms", "--device", "--unit", "--table", "--runtime", "--strategy", "--seed", "--out",
        "--no-export", "--resume", "--no-baselines", "--compress"),
    E: ("--archs", "--accuracy", "--no-cache", "--json"),
}


def command_of(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """(command path, its parser): ``("tables", "validate")`` and the ``validate`` sub-parser."""
    path = []
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return tuple(path), parser
        name = getattr(args, subs[0].dest)
        path.append(name)
        parser = subs[0].choices[name]


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Yield ``(command path, parser)`` for every leaf command (``("tables", "validate")``, ...)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for a in subs:
        for name, sp in a.choices.items():
            yield from leaf_commands(sp, (*path, name))


def all_parsers(parser):
    """The parser and every (sub)command's parser under it."""
    yield parser
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                yield from all_parsers(sub)


def given_dests(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The options ``argv`` gives, by dest: ``argv`` parsed again with every default suppressed, so
    argparse sets exactly the options on the command line (a typed default value included)."""
    saved = [(a, a.default) for p in all_parsers(parser) for a in p._actions
             if a.option_strings and a.dest != argparse.SUPPRESS]
    try:
        for a, _ in saved:
            a.default = argparse.SUPPRESS
        return set(vars(parser.parse_args(argv)))
    finally:
        for a, default in saved:
            a.default = default


def refuse_unread(parser: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace) -> None:
    """Raise ``NasError`` for the first option in ``RULES`` that ``argv`` gives but the command would not read."""
    path, leaf = command_of(parser, args)
    rules = [r for r in RULES if r.command == path]
    if not rules:
        return
    given = given_dests(parser, argv)
    dest = {o: a.dest for a in leaf._actions for o in a.option_strings}
    for r in rules:
        if dest[r.option] in given and not r.holds(args):
            raise NasError(f"{r.option} {r.needs}: {r.why.format(a=args)}")
