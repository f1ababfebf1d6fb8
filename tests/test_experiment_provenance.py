"""Every experiment folder says where its figures came from, and says so when the inputs have changed.

Checked against facts the experiments did not produce: the files on disk (their sha256 now) and the git
history (the commits named). Nothing is re-run. The convention (docs/experiments.md):

* ``experiments/<name>/`` has ``README.md`` and ``provenance.json`` (``nas.provenance``: per run, the
  command, the commit, whether ``nas/`` or the script had uncommitted changes, and ``inputs``, the
  sha256 of every table and data file read). A results subfolder may hold its own ``provenance.json``;
  it is checked against the nearest ``README.md`` above it.
* The README names the commit of every run recorded (its first 7 hex digits), and that commit is in
  the repository's history. A run recorded with uncommitted changes (``dirty``) is refused.
* The README quotes the sha256 (first 12 hex digits) of every latency table a run read.
* Every input recorded either has that sha256 on disk now, or the README marks the figures as coming
  from an older version: the marker ``From an older table`` (or ``From an older file`` for data that
  is not a latency table; any case), followed within 200 characters (line breaks count as spaces, and
  before the next marker) by the input's file name and the recorded sha256's first 12 hex digits; the
  README says there what changed (not checked here; ``experiments/table_change.py`` finds it out).

``article_speed`` and ``today_speed`` regenerate the tables themselves and predate ``provenance.json``:
for them every ``<file name> <12 hex digits>`` the README (and results.md) quotes is checked the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
FOLDERS = sorted(p.name for p in EXPERIMENTS.iterdir() if p.is_dir() and (p / "README.md").exists())
LEGACY = ("article_speed", "today_speed")   # no provenance.json: their README's quoted sha256 are checked
MARKERS = ("from an older table", "from an older file")
HEX12 = re.compile(r"\b[0-9a-f]{12}")


@cache
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def git_history() -> bool:
    """Whether the checkout has its history (not a copied tree or a shallow clone) to look commits up in."""
    try:
        out = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return False
    return out == "false"


def commit_exists(commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT,
                          capture_output=True).returncode == 0


def marked_older(readme: str, path: str, sha: str) -> bool:
    """The marker followed, within the next 200 characters (before any other marker), by the file's name
    and the recorded sha256's first 12 hex digits."""
    text = " ".join(readme.split())
    name, low = Path(path).name, text.lower()
    starts = sorted(m.start() for marker in MARKERS for m in re.finditer(re.escape(marker), low))
    for i, start in enumerate(starts):
        end = min([start + len(MARKERS[0]) + 200] + starts[i + 1:i + 2])
        if name in text[start:end] and sha[:12] in text[start:end]:
            return True
    return False


def provenance_files(folder: str) -> list[Path]:
    return sorted((EXPERIMENTS / folder).rglob("provenance.json"))


def test_every_experiment_folder_is_covered():
    # the folders the issue names are all here, so a renamed folder cannot silently drop out
    assert {"optuna_strategies", "multi_device", "search_on_benchmark", "estimators"} <= set(FOLDERS)
    for folder in FOLDERS:
        if folder not in LEGACY:
            assert provenance_files(folder), f"experiments/{folder}: no provenance.json (nas.provenance)"


def stale_inputs(folder: str) -> list[str]:
    """Every problem found in a folder's provenance.json files against its README and the disk."""
    problems = []
    for prov in provenance_files(folder):
        readme_path = next(p / "README.md" for p in prov.parents if (p / "README.md").exists())
        readme = readme_path.read_text()
        doc = json.loads(prov.read_text())
        assert doc.get("schema") == "nas.provenance/1", prov
        where = prov.relative_to(ROOT)
        for script, run in doc["runs"].items():
            commit = run.get("commit")
            if not (isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit)):
                problems.append(f"{where} {script}: no full commit hash recorded ({commit!r})")
                continue
            if run.get("dirty") is True:
                problems.append(f"{where} {script}: made with uncommitted changes at {commit[:10]}")
            if commit[:7] not in readme:
                problems.append(f"{readme_path.relative_to(ROOT)} does not name commit {commit[:7]} ({where} {script})")
            if git_history() and not commit_exists(commit):
                problems.append(f"{where} {script}: commit {commit[:10]} is not in this repository")
            for path, sha in run["inputs"].items():
                assert not Path(path).is_absolute(), f"{where}: {path}: record repository paths"
                file = ROOT / path
                if path.startswith("latency_tables/") and sha[:12] not in readme:
                    problems.append(f"{readme_path.relative_to(ROOT)} does not quote the sha256 {sha[:12]} "
                                    f"of {path} ({where} {script})")
                current = file.exists() and sha256(file) == sha
                if not current and not marked_older(readme, path, sha):
                    now = sha256(file)[:12] if file.exists() else "no such file now"
                    problems.append(f"{where} {script}: {path} was {sha[:12]}, now {now}, and "
                                    f"{readme_path.relative_to(ROOT)} has no 'From an older table/file' line "
                                    f"naming {Path(path).name} and {sha[:12]}")
    return problems


@pytest.mark.parametrize("folder", [f for f in FOLDERS if f not in LEGACY])
def test_recorded_inputs_match_the_files_or_the_readme_says_older(folder):
    assert stale_inputs(folder) == []


QUOTE = re.compile(r"`?([A-Za-z0-9_./-]+?)(?:\.yaml)?`?:?\s+([0-9a-f]{12})\b")


def quoted_files(text: str) -> list[tuple[str, str, list[Path]]]:
    """(name, 12 hex digits, the files the name can mean) for every ``<file name> <sha256 prefix>`` quoted."""
    out = []
    for name, hx in QUOTE.findall(" ".join(text.split())):
        stem = Path(name).name
        files = [p for d in ("latency_tables", "calibration") for p in sorted((ROOT / d).glob("*.yaml"))
                 if p.stem == stem or p.name.startswith(stem + ".")]
        if files:
            out.append((name, hx, files))
    return out


def legacy_problems(folder: str) -> list[str]:
    problems = []
    for doc in ("README.md", "results.md"):
        path = EXPERIMENTS / folder / doc
        if not path.exists():
            continue
        text = path.read_text()
        for name, hx, files in quoted_files(text):
            if not any(sha256(f).startswith(hx) for f in files) and not marked_older(text, name, hx):
                problems.append(f"experiments/{folder}/{doc}: {name} {hx}, on disk now "
                                + ", ".join(f"{f.name} {sha256(f)[:12]}" for f in files))
    return problems


def test_legacy_quotes_are_found():
    # the parser finds what those two READMEs quote (else the check below would pass on nothing)
    assert len(quoted_files((EXPERIMENTS / "article_speed" / "README.md").read_text())) >= 12
    assert len(quoted_files((EXPERIMENTS / "today_speed" / "results.md").read_text())) >= 45


@pytest.mark.parametrize("folder", LEGACY)
def test_legacy_quoted_sha256_match_the_files(folder):
    assert legacy_problems(folder) == []
