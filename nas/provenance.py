"""Where an experiment's figures came from, in a file a test can check.

The developers' guide asks every experiment folder for the exact command, the figures, and the commit
and sha256 of the tables they came from. The run scripts under ``experiments/`` call
``write_provenance`` when they write their results: it records, in ``provenance.json`` next to them,
the command, the git commit of the code (and whether ``nas/`` or the script had uncommitted changes),
and the sha256 of every table or data file the run read. ``tests/test_experiment_provenance.py``
compares those sha256 with the files on disk and the commit with the folder's README
(convention: ``docs/experiments.md``).

``provenance.json`` holds one entry per script (``runs``), so two scripts writing into one folder
(``estimators/run.py`` and ``pick_under_target.py``) keep each other's record.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

from nas.fsutil import REPO, file_sha256, json_text, loads_json, portable_path, write_atomic

SCHEMA = "nas.provenance/1"
FILE_NAME = "provenance.json"


CODE = (":(glob)nas/**/*.py", ":(glob)nas/**/*.yaml")   # the code; not the data a run may write into nas/


def git_commit(*paths: str | os.PathLike, root: Path = REPO) -> dict:
    """The checkout's commit and whether the code (``nas/``'s Python and YAML files) or ``paths`` (the
    scripts) differ from it. Other files are left out: a run may write into ``nas/`` itself
    (``estimators/run.py`` writes ``nas/search/accuracy/validation.json``) before it records this.

    ``{"commit": None, "dirty": None}`` outside a git checkout (a copied tree, no git)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", *CODE, *(portable_path(p) for p in paths)))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def record(command: str, inputs, script: str | os.PathLike | None = None) -> dict:
    """One run's provenance: its command, commit, time (UTC) and ``{path: sha256}`` of ``inputs``.

    ``inputs`` are the files the run read (tables, benchmarks, calibration data, kept scores); each is
    recorded by its path in the repository (``nas.fsutil.portable_path``) and the sha256 of its bytes
    as read now, so call this when the run has read them."""
    files = {}
    for p in inputs:
        if p is None:
            continue
        p = Path(p)
        if not p.is_absolute() and not p.exists():   # a repository path (``portable_path``) read from a result
            p = REPO / p
        files[portable_path(p)] = file_sha256(p)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    return {"command": command, **git_commit(*([script] if script else [])), "made_at": now,
            "inputs": dict(sorted(files.items()))}


def write_provenance(folder: str | os.PathLike, script: str | os.PathLike, command: str, inputs) -> dict:
    """Record this run in ``folder/provenance.json`` under ``runs[<script's repository path>]``.

    Other scripts' entries in the file are kept; this script's is replaced. Returns the entry."""
    folder = Path(folder)
    path = folder / FILE_NAME
    doc = {"schema": SCHEMA, "runs": {}}
    if path.exists():
        try:
            old = loads_json(path.read_text())
        except ValueError:
            old = None
        if isinstance(old, dict) and isinstance(old.get("runs"), dict):
            doc["runs"] = old["runs"]
    entry = record(command, inputs, script)
    doc["runs"][portable_path(script)] = entry
    write_atomic(path, json_text(doc, indent=1) + "\n")
    return entry


def load_provenance(path: str | os.PathLike) -> dict:
    """A ``provenance.json``: ``{"schema", "runs": {script: {"command", "commit", "dirty", "inputs"}}}``.

    Raises ``ValueError`` naming the file for anything else."""
    doc = loads_json(Path(path).read_text())
    if not (isinstance(doc, dict) and doc.get("schema") == SCHEMA and isinstance(doc.get("runs"), dict)):
        raise ValueError(f"{path}: not a {SCHEMA} file")
    for script, run in doc["runs"].items():
        if not (isinstance(run, dict) and isinstance(run.get("inputs"), dict)):
            raise ValueError(f"{path}: runs.{script}: no inputs")
    return doc
