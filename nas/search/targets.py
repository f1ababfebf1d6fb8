"""A search's latency targets against the table(s) it prices on: which table, and whether each target binds.

A target binds when some network of the space is over it; one that every
network meets leaves the latency constraint no part in the search. Tables
move (today's ML-program tables are several times faster than 2020's), so a
target written down once may stop binding without anything failing: the
search notes it (``prepare``), and ``tests/test_docs_commands.py`` checks every
documented ``--target-ms`` with these same functions, on the table the search
would open, pricing only the space's extremes (milliseconds, no search).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.latency import SpacePricer, load_table
from nas.latency.store import check_priced, find_priced
from nas.latency.table import LatencyTable
from nas.spaces import Space

if TYPE_CHECKING:                      # annotations only (multi is imported when several pairs are searched)
    from nas.search.config import SearchConfig
    from nas.search.multi import MultiPricer


def open_pricer(cfg: SearchConfig, space: Space) -> tuple[LatencyTable, SpacePricer | MultiPricer, MultiPricer | None]:
    """(table, pricer, multi) a search of ``cfg`` prices on. With several (device, unit) pairs, ``multi`` is their
    ``MultiPricer`` (also returned as the pricer) and ``table`` the first pair's; it refuses a target below the
    fastest network of the space on its pair's table. With ``cfg.compress`` each table is one of those weights
    where one exists, else the fp16 one (``weights_notes`` says which)."""
    if cfg.constraints:
        from nas.search.multi import prepare_multi
        multi = prepare_multi(space, cfg.constraints, cfg.runtime, cfg.compress)
        return multi.tables[0], multi, multi
    if cfg.table:
        table = load_table(cfg.table, device=cfg.device, unit=cfg.unit, runtime=cfg.runtime,
                           allow_mismatch=cfg.allow_other_device)
        check_priced(table, cfg.compress, cfg.allow_other_device)
    else:
        table = find_priced(cfg.device, cfg.unit, cfg.runtime, cfg.compress)[0]
    return table, SpacePricer(space, table), None


def weights_notes(cfg: SearchConfig, table: LatencyTable, multi: MultiPricer | None) -> list[str]:
    """One note per table that prices other weights than the search's ``--compress`` (fp16 in their place)."""
    from nas.latency.store import weights_note
    tables = multi.tables if multi is not None else [table]
    return [n for n in (weights_note(t, cfg.compress) for t in tables) if n]


def latency_targets(cfg: SearchConfig, pricer, multi) -> list[tuple[str, float, SpacePricer]]:
    """Every latency target of the search with the pricer of its own table: (device/unit, target ms, pricer)."""
    if multi is None:
        return [(f"{cfg.device}/{cfg.unit}", cfg.target_ms, pricer)]
    return [(c.pair, c.target_ms, p) for c, p in zip(multi.constraints, multi.pricers)]


def target_binds(pricer: SpacePricer, target_ms: float) -> bool:
    """Whether the slowest network of the space is over ``target_ms``. The slowest latency is exact when each
    decision's cost is independent of the others (fbnet, nasbench_macro), else an upper bound: a target
    called non-binding never binds; one called binding on such a space may not (``SpacePricer.slowest_ms``)."""
    return pricer.slowest_ms() > target_ms


def non_binding_note(space: Space, pricer: SpacePricer, target_ms: float, pair: str | None = None) -> str:
    """What ``nas search`` says of a target that does not bind (``pair``: one of several device/unit pairs)."""
    slowest, median = pricer.slowest_ms(), pricer.median_ms()
    if pair is None:
        return (f"the target does not bind: every network of space {space.name!r} is within {target_ms:g} ms (the "
                f"slowest takes {slowest:.3f} ms), so the latency constraint plays no part and the result is the "
                f"estimator's favourite of the whole space; for a binding target try --target-ms "
                f"{median:.3g} (the space's median latency)")
    return (f"the target for {pair} does not bind: every network of space {space.name!r} is within {target_ms:g} ms "
            f"on its table (the slowest takes {slowest:.3f} ms), so that pair's constraint plays no part; for a "
            f"binding target on it try {median:.3g} ms (the space's median latency there)")


def non_binding_notes(cfg: SearchConfig, space: Space, pricer, multi) -> list[str]:
    """One note per target of the search that does not bind."""
    return [non_binding_note(space, p, target, pair if multi is not None else None)
            for pair, target, p in latency_targets(cfg, pricer, multi) if not target_binds(p, target)]
