"""``nas check PACKAGE`` on crafted packages (hostile11): a real ML program package (an op of
``test_profile_compressed``'s bundle) copied and edited by hand. coremltools follows the path that the package's
Manifest.json names for its spec; before the fix ``../../../../etc/passwd`` was read as the model (a
"Wire format was corrupt" error naming nothing wrong with the manifest -- and a valid spec elsewhere would have
been checked under this package's name)."""

from __future__ import annotations

import os
import shutil

import pytest

from nas.cli import main
from test_bad_input import refused
from test_profile_compressed import BIG, bundle  # noqa: F401 -- the lut4 bundle fixture

SPEC = '"com.apple.CoreML/model.mlmodel"'


@pytest.fixture
def package(bundle, tmp_path):  # noqa: F811
    root, m = bundle
    src = root / next(e["file"] for e in m["entries"] if e["key"] == BIG)
    dest = tmp_path / "p.mlpackage"
    shutil.copytree(src, dest)
    assert SPEC in (dest / "Manifest.json").read_text()
    return dest


def test_the_package_itself_checks(package, capsys):
    assert main(["check", str(package)]) == 0


def test_check_leaves_the_package_untouched(package, capsys):
    """A read-only command: coremltools' ModelPackage rewrote Manifest.json on open (same bytes, a new
    modification time), so ``nas check`` changed the user's package. Every file's bytes and mtime are kept now
    (mtimes set an hour back, so a rewrite within the same second would still show)."""
    files = sorted(f for f in package.rglob("*") if f.is_file())
    for f in files:
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 3600 * 10**9))
    before = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    assert main(["check", str(package)]) == 0
    assert sorted(f for f in package.rglob("*") if f.is_file()) == files
    assert {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files} == before


@pytest.mark.parametrize("path", ['"../../../../etc/passwd"', '"/etc/passwd"', '"../../Manifest.json"'])
def test_a_spec_outside_the_package_is_refused(package, capsys, path):
    manifest = package / "Manifest.json"
    manifest.write_text(manifest.read_text().replace(SPEC, path))
    refused(capsys, ["check", package], package, f"Manifest.json names {path.strip(chr(34))!r}",
            "outside the package's Data folder")


def test_data_linked_out_of_the_package_is_refused(package, tmp_path, capsys):
    (package / "Data").rename(tmp_path / "elsewhere")
    (package / "Data").symlink_to(tmp_path / "elsewhere")
    refused(capsys, ["check", package], package, "Data folder is a symbolic link out of the package")


@pytest.mark.parametrize("text, why", [
    ('{"itemInfoEntries": [], "rootModelIdentifier": 5}', "names no root model"),
    ('{"itemInfoEntries": {"a": {"path": 7}}, "rootModelIdentifier": "a"}', "the root model's path is not text"),
    ("not json", "Expecting value"),
])
def test_a_malformed_manifest_is_named(package, capsys, text, why):
    (package / "Manifest.json").write_text(text)
    refused(capsys, ["check", package], package, why)
