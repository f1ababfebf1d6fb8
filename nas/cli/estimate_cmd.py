"""``nas estimate``: score a list of networks with an accuracy estimator, cached.

One network per line of ``--archs FILE``: a DSL string or a YAML path (a
relative path is taken relative to the list file first); blank lines and lines
starting with ``#`` are skipped. Every line is checked before anything is
scored; a bad one is refused naming the file and line. Scores of training-free
estimators are kept in a persistent cache (``nas.search.accuracy.cache``), so
scoring the same network again with the same settings costs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from nas.arch.spec import NetSpec
from nas.cli.progress import progress
from nas.bounds import int_in
from nas.errors import NasError
from nas.search.accuracy import DEFAULT_ESTIMATOR, ESTIMATORS, ZEROSHOT
from nas.search.accuracy.cache import ScoreCache, cache_key, default_path

CHOICES = tuple(n for n in ESTIMATORS if n not in ("predictor", "benchmark"))   # need a search (history, a space)


def register(sub) -> None:
    p = sub.add_parser("estimate", help="score networks with an accuracy estimator (cached)",
                       description="Score every network of --archs (one DSL string or YAML path per line) "
                       "with --accuracy and print them in input order. Training-free scores are cached "
                       f"(default {default_path()}; --cache FILE, --no-cache).")
    p.add_argument("--archs", required=True, help="file: one DSL string or YAML path per line (# comments)")
    p.add_argument("--accuracy", default=DEFAULT_ESTIMATOR, choices=CHOICES,
                   help=f"estimator (default {DEFAULT_ESTIMATOR}, the search's default; docs/estimators.md)")
    p.add_argument("--space", default="fbnet", help="--accuracy proxy: the space whose reference sample "
                   "calibrates it (default fbnet)")
    p.add_argument("--data", help="--accuracy train: ImageFolder directory (default: the digits demo)")
    p.add_argument("--train-epochs", type=int, default=3)
    p.add_argument("--train-resolution", type=int, default=32)
    p.add_argument("--cache", help="cache file (JSON lines; default: see above)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--json", action="store_true", help="print a JSON array (default: a table)")
    p.set_defaults(func=cmd_estimate)


def read_archs(path: str) -> list[tuple[str, NetSpec]]:
    """(canonical DSL, net) per non-blank, non-comment line; a bad line raises naming file and line."""
    from nas.cli.arch_cmd import load_arch
    f = Path(path)
    try:
        text = f.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise NasError(f"--archs {f}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    nets = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:            # a relative YAML path is taken relative to the list file
            beside = not Path(line).is_absolute() and (f.parent / line).is_file()
        except OSError:  # a long DSL string is not a valid file name
            beside = False
        source = str(f.parent / line) if beside else line
        try:
            net = load_arch(source)
        except (NasError, ValueError, OSError) as e:
            raise NasError(f"--archs {f}, line {n}: {e}") from None
        nets.append((str(net), net))
    if not nets:
        raise NasError(f"--archs {f}: no network (one DSL string or YAML path per line)")
    return nets


def make(args):
    from nas.search import build
    from nas.search.accuracy import ScoreEstimator
    if args.accuracy in ZEROSHOT:
        return ScoreEstimator(args.accuracy)
    if args.accuracy == "proxy":
        from nas.spaces import load_space
        return build.proxy_estimator(load_space(args.space))
    if args.data is not None:
        from nas.search.accuracy.data import check_image_folder
        check_image_folder(args.data)
    return build.train_estimator(args.data, args.train_resolution, args.train_epochs)


def check_buildable(nets: list[tuple[str, NetSpec]], side: int) -> None:
    """Every network must build at the side x side input it is trained at (before any data is read)."""
    from dataclasses import replace

    from nas.arch.resolve import resolve
    from nas.errors import SpecError
    for arch, net in nets:
        try:
            resolve(replace(net, input_size=(side, side)))
        except SpecError as e:
            raise NasError(f"--train-resolution {side}: network {arch[:80]!r} cannot be built at {side}x{side} "
                           f"({e.layer}: {e.reason})") from None


def cmd_estimate(args) -> int:
    from nas.search.checks import MAX_EPOCHS, RESOLUTION
    int_in("--train-epochs", args.train_epochs, 1, MAX_EPOCHS)       # as `nas search` checks them
    int_in("--train-resolution", args.train_resolution, *RESOLUTION)
    if args.cache is not None and not args.no_cache:
        from nas.fsutil import check_output_file
        check_output_file("--cache", args.cache)
    nets = read_archs(args.archs)
    if args.accuracy == "train":
        check_buildable(nets, args.train_resolution)
    cache = None if args.no_cache else ScoreCache(args.cache or default_path())
    estimator = make(args)
    settings = estimator.settings()
    rows = []
    for arch, net in progress(iterable=nets, desc=f"estimate ({args.accuracy})", unit="net"):
        key = cache_key(settings, arch)
        hit = cache.get(key) if cache else None
        if hit is None:
            est = estimator.estimate(net, None)
            hit = {"score": float(est.accuracy), "kind": est.kind}
            if cache:
                cache.put(key, arch, hit["score"], hit["kind"])
        rows.append({"arch": arch, "score": hit["score"], "kind": hit["kind"]})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['score']:14.6g}  {r['kind']:6}  {r['arch']}")
    return 0
