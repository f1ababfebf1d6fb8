"""Every `nas ...` command the documentation shows parses with the real CLI parser, and every relative
link in the documentation points at a file (and heading) that exists.

Why: README.md and docs/*.md quote many command lines; a flag renamed in ``nas/cli`` or a typo in a page
would otherwise only show when a user types it. Commands are parsed with ``nas.cli.make_parser()``, never
executed (running them is a walk-through, not a unit test).

Where commands are found:

- code blocks (fenced, or indented by 4 spaces): every line holding a ``nas`` or ``.venv/bin/nas`` word,
  from that word to the end of the line (``\\``-continued lines joined; ``# comment`` tails, a leading
  ``VAR=value`` environment and anything before ``&&`` dropped). Such a line must parse completely.
- inline code spans in text and tables whose text starts with ``nas `` (``\\|`` in tables read as ``|``).
  A span is a mention, not a full command: it may leave out required options and positionals and
  name an option without its value (``nas latency``, ``nas profile-ops --device local``,
  ``nas export --out``), but everything it does say must parse (sub-command names, option names,
  choices, types).

Placeholders, substituted before parsing:

- ``a|b`` outside quotes: each alternative separately (``nas zoo list|show`` is two commands);
- ``[...]``: the optional part is kept, brackets dropped (``[--accuracy NAME]`` -> ``--accuracy NAME``);
- ``...`` (as a word): dropped; it stands for options the span does not repeat;
- whole words from ``PLACEHOLDERS`` (e.g. ``N`` -> ``2``, ``<iphone>`` -> ``iphone11``); any other upper-case
  word (``FILE``, ``DIR``, ``URL``) is a file or text value and parses as it stands.

Nothing is skipped silently: ``NOT_PARSED`` lists, with a reason each, the lines that cannot be parsed.

Latency targets: every documented command carrying ``--target-ms`` must *bind* on the table it would use
(its ``--device``/``--unit``/``--runtime``/``--table``, defaults included; shipped tables only): each
comma-separated target at or above the space's fastest network (else the search refuses it) and below its
slowest (else every network meets it and the search is trivial). Tables change (today's ML-program
tables are several times faster than 2020's), so an example's target can silently stop binding. The
check runs the search's own code (``nas.cli.search_cmd.config_from_args``, ``nas.search.targets``: the
table ``prepare`` opens, the space's extremes its pricer computes), never a search. ``NON_BINDING`` lists
the commands that do not bind on purpose, each where the page itself says so.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import re
import shlex
from pathlib import Path

import pytest

from nas.cli import make_parser
from nas.cli.search_cmd import config_from_args
from nas.search.targets import latency_targets, open_pricer, target_binds
from nas.spaces import load_space

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

PLACEHOLDERS = {
    "N": "2",                                    # --workers N, --trials N
    "S": "0",                                    # --bench-seed S
    "G": "0.5",                                  # --gpus-per-trial G
    "NAME": "params",                            # --accuracy NAME (a choice)
    "DSL": "'32:conv_k3_s1_c8|gap,fc_c10'",      # nas arch show DSL
    "<iphone>": "iphone11",                      # --device <iphone>
}

# (page, command as extracted) -> why it is not parsed. Keep short; every entry needs a reason.
NOT_PARSED: dict[tuple[str, str], str] = {}

_CMD_WORD = re.compile(r"(?:^|(?<=\s))(?:\S*/)?nas(?=\s|$)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SPAN = re.compile(r"(?<!`)`((?:[^`\n]|\n(?!\n))+?)`(?!`)")       # may wrap once, not over a blank line


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _from_nas_word(line: str) -> str | None:
    line = _strip_comment(line).split("&&")[-1].strip()
    m = _CMD_WORD.search(line)
    if not m:
        return None
    return "nas" + line[m.end():]


def _code_lines(text: str):
    """(line number, logical line) of every code-block line, continuations joined."""
    lines = text.splitlines()
    in_fence, prev_blank, indented = False, True, False
    pending, start = "", 0
    for no, line in enumerate(lines, 1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        code = in_fence
        if not in_fence:
            indented = line.startswith("    ") and (prev_blank or indented) and line.strip() != ""
            code = indented
            prev_blank = line.strip() == ""
        if not code:
            continue
        if not pending:
            start = no
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""


def extract(path: Path) -> list[tuple[int, str, str]]:
    """(line, kind 'block' or 'inline', command text starting with 'nas') of one page."""
    text = path.read_text(encoding="utf-8")
    found = []
    for no, line in _code_lines(text):
        cmd = _from_nas_word(line)
        if cmd:
            found.append((no, "block", " ".join(cmd.split())))
    # inline spans may wrap onto the next line: search the text with code blocks blanked out
    prose, in_fence = [], False
    for line in text.splitlines():
        fence = bool(_FENCE.match(line))
        in_fence = in_fence != fence
        indented = line.startswith("    ") and not line.lstrip().startswith(("-", "*", "|"))
        prose.append("" if in_fence or fence or indented else line.replace("\\|", "|"))
    joined = "\n".join(prose)
    for m in _SPAN.finditer(joined):
        span = " ".join(m.group(1).split())
        if span.startswith(("nas ", ".venv/bin/nas ")) or span in ("nas", ".venv/bin/nas"):
            found.append((joined.count("\n", 0, m.start()) + 1, "inline", "nas" + span.split("nas", 1)[1]))
    return found


def _quoted_split(cmd: str) -> list[str]:
    """Words of a command, quotes kept (so a quoted DSL's '|' is not an alternative)."""
    lex = shlex.shlex(cmd, posix=False)
    lex.whitespace_split = True
    lex.commenters = ""
    return list(lex)


def variants(cmd: str) -> list[list[str]]:
    """The argv lists a documented command stands for (placeholder rules in the module docstring)."""
    words = []
    for w in _quoted_split(cmd):
        if w in ("...", "…"):
            continue
        if w.startswith("[") or w.endswith("]"):
            w = w.strip("[]")
            if not w:
                continue
        w = PLACEHOLDERS.get(w, w)
        if w[:1] in "'\"" or "|" not in w:
            words.append([w])
        else:
            words.append([PLACEHOLDERS.get(a, a) for a in w.split("|")])
    out = []
    for combo in itertools.product(*words):
        argv = shlex.split(" ".join(combo))
        out.append(argv[1:])            # drop the program name
    return out


class _ParseError(Exception):
    pass


def _raise(self, message):
    raise _ParseError(message)


def _relax(parser: argparse.ArgumentParser) -> None:
    """Make every option, positional and sub-command of the tree optional (for inline mentions)."""
    for group in parser._mutually_exclusive_groups:
        group.required = False
    for action in parser._actions:
        action.required = False
        if action.nargs is None and not isinstance(action, argparse._SubParsersAction):
            action.nargs = "?"        # a positional left out, or an option named without its value
        for sub in (action.choices or {}).values() if isinstance(action, argparse._SubParsersAction) else ():
            _relax(sub)


@functools.cache
def _parser(inline: bool) -> argparse.ArgumentParser:
    parser = make_parser()
    if inline:
        _relax(parser)
    return parser


def parse_error(argv: list[str], inline: bool) -> str | None:
    """None if argv parses, else argparse's message. Inline: required parts may be missing."""
    parser = _parser(inline)
    orig = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = _raise
    try:
        parser.parse_args(argv)
    except _ParseError as e:
        return str(e)
    except SystemExit as e:           # --help / --version
        return None if e.code == 0 else f"exit {e.code}"
    finally:
        argparse.ArgumentParser.error = orig
    return None


def all_commands():
    for page in DOCS:
        for no, kind, cmd in extract(page):
            yield page.relative_to(ROOT).as_posix(), no, kind, cmd


COMMANDS = list(all_commands())


def test_extractor_finds_the_documented_commands():
    """Hand-picked lines of the pages (read by eye) must be among the extracted commands."""
    got = {(p, c) for p, _, _, c in COMMANDS}
    for expected in [
        ("README.md", "nas search --space fbnet --target-ms 8"),                       # after '&& .venv/bin/'
        ("README.md", "nas estimate --archs FILE [--accuracy NAME]"),                  # table cell
        ("README.md", "nas zoo list|show"),                                            # '\|' in a table
        ("docs/export.md", "nas report --device iphone11 --unit ane --search-dir runs/s1 --out report/"),
        ("docs/predicted-tables.md", "nas tables calibrate [--add my_phone_timings.yaml] "
         "[--out-dir latency_tables] [--report experiments/article_speed/calibration.json]"),
        ("docs/optuna.md", "nas search --space fbnet --strategy nsga2 --device iphone11 --unit ane,gpu "
         "--target-ms 0.8,15 --storage sqlite:///s.db"),
    ]:
        assert expected in got, expected
    assert len(COMMANDS) > 60
    assert not any("nas-profiler" in c or c.startswith("nas:") for _, _, _, c in COMMANDS)


def test_substitution_rules():
    assert variants("nas zoo list|show") == [["zoo", "list"], ["zoo", "show"]]
    assert variants("nas estimate --archs FILE [--accuracy NAME]") == [
        ["estimate", "--archs", "FILE", "--accuracy", "params"]]
    assert variants("nas arch show '224:conv_k3_s2_c16|gap,fc_c1000'") == [
        ["arch", "show", "224:conv_k3_s2_c16|gap,fc_c1000"]]
    assert variants("nas search ... --workers N") == [["search", "--workers", "2"]]
    assert parse_error(["search", "--space", "fbnet"], inline=True) is None
    assert parse_error(["search", "--space", "fbnet"], inline=False) is not None
    assert parse_error(["search", "--spaec", "fbnet"], inline=True) is not None        # a typo fails
    assert parse_error(["search", "--strategy", "nsga3"], inline=True) is not None     # a bad choice fails
    assert parse_error(["tablez", "show"], inline=True) is not None                    # a bad sub-command fails


@pytest.mark.parametrize("page,line,kind,cmd", COMMANDS, ids=[f"{p}:{n}" for p, n, _, _ in COMMANDS])
def test_documented_command_parses(page, line, kind, cmd):
    if (page, cmd) in NOT_PARSED:
        pytest.skip(NOT_PARSED[(page, cmd)])
    for argv in variants(cmd):
        err = parse_error(argv, inline=(kind == "inline"))
        assert err is None, f"{page}:{line}: `{cmd}` -> nas {' '.join(argv)}: {err}"


@pytest.mark.parametrize("page,line,kind,cmd", COMMANDS, ids=[f"{p}:{n}" for p, n, _, _ in COMMANDS])
def test_documented_command_gives_only_options_it_reads(page, line, kind, cmd):
    """A complete documented command (every code-block line; an inline span that parses in full) gives no
    option its command would not read with the other options given (``nas.cli.flagdeps``: exit 2 today)."""
    from nas.cli.flagdeps import refuse_unread
    from nas.errors import NasError
    for argv in variants(cmd):
        if (page, cmd) in NOT_PARSED or parse_error(argv, inline=False) is not None:
            continue                 # an inline mention (test_documented_command_parses checks its words)
        parser = _parser(False)
        try:
            refuse_unread(parser, argv, parser.parse_args(argv))
        except NasError as e:
            pytest.fail(f"{page}:{line}: `{cmd}`: nas: error: {e}")


def test_allow_list_entries_still_exist():
    got = {(p, c) for p, _, _, c in COMMANDS}
    assert set(NOT_PARSED) <= got, set(NOT_PARSED) - got


# -- latency targets ---------------------------------------------------------------------------------

# (page, command as extracted) -> words near it on that page (within EXPLAINED_WITHIN lines of one of its
# occurrences) saying that its target does not bind. Only these may carry a target that does not bind.
NON_BINDING: dict[tuple[str, str], str] = {
    # the headline: the project's given main job, which explains the target does not bind (also its table row)
    ("README.md", "nas search --space fbnet --target-ms 8"): "does not bind",
    # the example of docs/benchmark.md's "A target that does not bind"
    ("docs/benchmark.md", "nas search --space fbnet --target-ms 8"): "does not bind",
}
EXPLAINED_WITHIN = 8
# (page, inline mention that leaves out --space) -> the space of the full command it abbreviates
SPACE_OF_MENTION: dict[tuple[str, str], str] = {
    ("README.md", "nas search ... --strategy nsga2 --device iphone11 --unit ane,gpu --target-ms 0.8,15 "
     "--storage sqlite:///s.db"): "fbnet",      # docs/optuna.md's first "several devices" command
}

TARGETED = [c for c in COMMANDS if "--target-ms" in c[3].split()]


def _targets(page: str, kind: str, cmd: str):
    """(argv, space, device/unit, target ms, that pair's pricer) for every target of a documented command,
    found as ``nas search`` finds them (its parser, its settings, the table ``prepare`` opens)."""
    for argv in variants(cmd):
        args = _parser(kind == "inline").parse_args(argv)
        if args.space is None:
            assert (page, cmd) in SPACE_OF_MENTION, f"{page}: `{cmd}` names no --space: add it to SPACE_OF_MENTION"
            args.space = SPACE_OF_MENTION[(page, cmd)]
        cfg = config_from_args(args)
        space = load_space(cfg.space)
        _, pricer, multi = open_pricer(cfg, space)
        for pair, target, p in latency_targets(cfg, pricer, multi):
            yield argv, space, pair, target, p


def test_every_target_command_is_checked():
    assert len(TARGETED) >= 10
    assert ("README.md", "nas search --space fbnet --target-ms 8") in {(p, c) for p, _, _, c in TARGETED}


@pytest.mark.parametrize("page,line,kind,cmd", TARGETED, ids=[f"{p}:{n}" for p, n, _, _ in TARGETED])
def test_documented_target_binds(page, line, kind, cmd, monkeypatch):
    monkeypatch.delenv("NAS_TABLES_DIR", raising=False)          # the shipped tables, as a reader has them
    for argv, space, pair, target, p in _targets(page, kind, cmd):
        fastest, slowest = p.fastest_ms(), p.slowest_ms()
        where = (f"{page}:{line}: `{cmd}`: {pair} target {target:g} ms on {p.table.source_name} "
                 f"({p.table.runtime}), where the networks of space {space.name!r} take {fastest:.3f} to "
                 f"{slowest:.3f} ms (median {p.median_ms():.3g})")
        assert fastest <= target, f"{where}: below the fastest, `nas search` refuses it"
        if (page, cmd) in NON_BINDING:
            assert not target_binds(p, target), f"{where}: it binds now; drop it from NON_BINDING"
            continue
        assert target_binds(p, target), f"{where}: it does not bind; use a target below the slowest"
        if p.per_decision_ms() is None:       # slowest_ms is an upper bound there: ask for a network over it
            assert target < p.median_ms(), f"{where}: cannot tell it binds; use a target below the median"


def test_non_binding_commands_say_so():
    for (page, cmd), words in NON_BINDING.items():
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        at = [n for p, n, _, c in COMMANDS if (p, c) == (page, cmd)]
        assert at, f"{page}: `{cmd}` is no longer there: drop it from NON_BINDING"
        assert any(words in "\n".join(lines[max(0, n - 1 - EXPLAINED_WITHIN):n + EXPLAINED_WITHIN]) for n in at), \
            f"{page}: nothing within {EXPLAINED_WITHIN} lines of `{cmd}` says {words!r}"
    assert set(SPACE_OF_MENTION) <= {(p, c) for p, _, _, c in COMMANDS}, set(SPACE_OF_MENTION)


# -- links -------------------------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    s = heading.strip().lower().replace("`", "")
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def _anchors(md: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", md.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, flags=re.M)}


def _links():
    for page in DOCS:
        for no, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for m in _LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):          # http:, mailto:, ...
                    continue
                yield page.relative_to(ROOT).as_posix(), no, target


LINKS = list(_links())


def test_slug_rule():
    assert _slug("Compute units (`ane` and `all`)") == "compute-units-ane-and-all"
    assert _slug("How far to trust a prediction") == "how-far-to-trust-a-prediction"


@pytest.mark.parametrize("page,line,target", LINKS, ids=[f"{p}:{n}:{t}" for p, n, t in LINKS])
def test_relative_link_exists(page, line, target):
    path, _, anchor = target.partition("#")
    dest = (ROOT / page).parent / path if path else ROOT / page
    assert dest.exists(), f"{page}:{line}: link to {target}: {dest} does not exist"
    if anchor and dest.suffix == ".md":
        assert anchor in _anchors(dest), f"{page}:{line}: no heading '#{anchor}' in {dest.relative_to(ROOT)}"
