"""The package's layering, checked on its source: lower layers never import higher ones.

The developers' guide fixes the shape: one architecture description flows one way into every consumer,
the description knows nothing of search, blocks don't know their prices, and only the CLI parses
arguments. ``LAYERS`` below is that order written down once (docs/architecture.md, "Layers"); the test
reads every module's imports with ``ast`` (no import runs) and fails on any import of a package at the
same rank from another, or at a higher rank, and on ``argparse`` outside ``nas/cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

NAS = Path(__file__).resolve().parents[1] / "nas"

# Lowest first. One rank may hold several packages that must not import each other.
LAYERS: list[set[str]] = [
    {"errors", "text"},
    {"fsutil", "safeyaml", "coreml_log", "bounds"},
    {"jsonlog", "provenance", "hardware", "compress", "mlpackage"},
    {"ops"},
    {"arch"},
    {"zoo", "spaces"},
    {"latency"},
    {"profiling", "export", "report"},
    {"search"},
    {"cli"},
    {"__main__"},
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _top(path: Path) -> str:
    rel = path.relative_to(NAS).parts
    return rel[0] if len(rel) > 1 else rel[0][:-3]


def _imports(path: Path):
    """(line, imported top-level nas package) for every ``nas`` import in ``path``, and argparse lines."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "nas":
                for a in node.names:
                    yield node.lineno, a.name
            elif node.module.startswith("nas."):
                yield node.lineno, node.module.split(".")[1]
            elif node.module.split(".")[0] == "argparse":
                yield node.lineno, "argparse"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("nas."):
                    yield node.lineno, a.name.split(".")[1]
                elif a.name == "argparse":
                    yield node.lineno, "argparse"


def test_every_package_has_a_rank():
    tops = {_top(p) for p in NAS.rglob("*.py")} - {"__init__"}
    assert tops <= set(RANK), f"place {sorted(tops - set(RANK))} in LAYERS"


def test_no_import_runs_up_or_sideways():
    bad = []
    for path in sorted(NAS.rglob("*.py")):
        src = _top(path)
        if src == "__init__":
            continue
        for line, dst in _imports(path):
            if dst == "argparse":
                if src not in ("cli", "__main__"):
                    bad.append(f"{path.relative_to(NAS)}:{line} imports argparse (only nas/cli parses arguments)")
                continue
            if dst in (src, "__version__"):
                continue
            if RANK[dst] > RANK[src] or (RANK[dst] == RANK[src]):
                bad.append(f"{path.relative_to(NAS)}:{line} ({src}, rank {RANK[src]}) imports {dst} (rank {RANK[dst]})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("src, dst", [("ops", "latency"), ("arch", "search"), ("latency", "profiling")])
def test_the_check_sees_an_upward_import(tmp_path, src, dst):
    """The import reader on hand-written cases: it finds the imported package, and LAYERS ranks it above."""
    f = tmp_path / "m.py"
    f.write_text(f"from nas.{dst}.x import y\n")
    assert [d for _, d in _imports(f)] == [dst] and RANK[dst] > RANK[src]
