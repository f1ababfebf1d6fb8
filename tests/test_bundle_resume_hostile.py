"""A resumed bundle folder (``nas profile-ops --compress lut4 ... --resume``) whose packages were damaged or crafted
(hostile11). Each case edits a copy of a real lut4 bundle by hand; the expectation -- the package and entry the
refusal names, and that nothing in the folder changed -- is written by hand too. Before the fix: a protobuf
``DecodeError`` / ``RuntimeError`` traceback (a damaged package), or exit 0 with a manifest over packages from
outside the folder (a symbolic link), packages written outside it (``ops`` a link), or another op's package timed
as this one's (a copy under its name).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nas.cli import main
from test_bad_input import refused
from test_profile_compressed import BIG, SMALL, bundle  # noqa: F401 -- the module's lut4 bundle fixture

ARGS = ["profile-ops", "--device", "iphone11", "--unit", "ane", "--compress", "lut4", "--ops", SMALL, BIG,
        "--calibrate", "0", "--validate", "0", "--workers", "1", "--resume", "--out"]


def _state(folder: Path) -> dict:
    """Every path in the folder (links not followed) with its kind and modification time."""
    out = {}
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(top, name)
            out[str(p.relative_to(folder))] = (p.is_symlink(), p.lstat().st_mtime_ns)
    return out


@pytest.fixture
def copy(bundle, tmp_path):  # noqa: F811
    root, m = bundle
    dest = tmp_path / "b"
    shutil.copytree(root, dest, symlinks=True)
    small = next(e["file"] for e in m["entries"] if e["key"] == SMALL)
    big = next(e["file"] for e in m["entries"] if e["key"] == BIG)
    return dest, dest / small, dest / big


def _refused(capsys, folder: Path, *names):
    before = _state(folder)
    refused(capsys, [*ARGS, folder], *names)
    assert _state(folder) == before                       # nothing converted, no manifest rewritten


def test_a_damaged_package_is_named(copy, capsys):
    folder, small, _ = copy
    shutil.rmtree(small)
    small.write_text("junk\n")                              # was: protobuf DecodeError traceback
    _refused(capsys, folder, small, f"entry '{SMALL}'", "not a Core ML package")
    small.unlink()
    small.mkdir()                                           # an empty package folder: was RuntimeError traceback
    _refused(capsys, folder, small, "not a readable Core ML package", "Manifest.json")


def test_a_package_linked_from_outside_is_refused(copy, tmp_path, capsys):
    folder, small, _ = copy
    outside = tmp_path / "outside.mlpackage"
    small.rename(outside)
    small.symlink_to(outside)                               # was: exit 0, the outside package in the bundle
    _refused(capsys, folder, small, "a symbolic link (to", str(outside))


def test_a_link_inside_a_package_is_refused(copy, capsys):
    folder, small, _ = copy
    (small / "Data" / "x").symlink_to("/etc/passwd")          # was: /etc/passwd hashed into the bundle id
    _refused(capsys, folder, small, "holds a symbolic link, Data/x")


def test_ops_a_link_out_of_the_folder_is_refused(copy, tmp_path, capsys):
    folder, _, _ = copy
    out = tmp_path / "elsewhere"
    out.mkdir()
    shutil.rmtree(folder / "ops")
    (folder / "ops").symlink_to(out)                         # was: both ops converted into `elsewhere`
    _refused(capsys, folder, folder / "ops", "a symbolic link (to", "outside")
    assert list(out.iterdir()) == []
    (folder / "ops").unlink()
    (folder / "ops").write_text("x\n")                       # was: `nas: error: b/ops: File exists`
    _refused(capsys, folder, folder / "ops", "a file where the bundle keeps its ops packages")


def test_another_ops_package_under_this_name_is_refused(copy, capsys):
    """SMALL's input is 3x8x8, BIG's 32x8x8 (the op keys); their outputs agree, so only the input tells them
    apart. Was: exit 0, BIG's package timed as SMALL."""
    folder, small, big = copy
    shutil.rmtree(small)
    shutil.copytree(big, small)
    _refused(capsys, folder, small, f"entry '{SMALL}'", "input 1x32x8x8, not 1x3x8x8")


def test_a_stale_manifest_is_rewritten_not_read(copy, capsys):
    """The folder's manifest.json is never read on resume: it is written again from the packages."""
    folder, _, _ = copy
    (folder / "manifest.json").write_text('{"bundle_id": [1, 2]}')
    assert main([*ARGS, str(folder)]) == 0
    assert '"schema": "nas.profiling.manifest/1"' in (folder / "manifest.json").read_text()


def test_a_package_manifest_naming_a_file_outside_is_refused(copy, capsys):
    """A package's Manifest.json whose root model path leaves the package (``../../../etc/passwd``): it is read
    as the model's spec by coremltools; refused here without reading it."""
    folder, small, _ = copy
    text = (small / "Manifest.json").read_text()
    (small / "Manifest.json").write_text(text.replace('"com.apple.CoreML/model.mlmodel"', '"../../../../etc/passwd"'))
    _refused(capsys, folder, small, "outside the package's Data folder")
