"""nas.provenance: what an experiment records about its inputs (sha256 checked against the published
test vector of FIPS 180-2, not against hashlib's own output)."""

import json

from nas.fsutil import file_sha256
from nas.provenance import SCHEMA, load_provenance, write_provenance

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"   # FIPS 180-2, "abc"


def test_file_sha256_is_the_published_digest(tmp_path):
    (tmp_path / "abc.txt").write_bytes(b"abc")
    assert file_sha256(tmp_path / "abc.txt") == ABC_SHA256


def test_write_provenance_keeps_other_scripts_and_replaces_its_own(tmp_path):
    data = tmp_path / "table.yaml"
    data.write_bytes(b"abc")
    write_provenance(tmp_path, "experiments/a/run.py", "python a", [data])
    write_provenance(tmp_path, "experiments/a/other.py", "python other", [])
    data.write_bytes(b"abcd")
    write_provenance(tmp_path, "experiments/a/run.py", "python a --again", [data])
    doc = load_provenance(tmp_path / "provenance.json")
    assert doc["schema"] == SCHEMA
    assert set(doc["runs"]) == {"experiments/a/run.py", "experiments/a/other.py"}
    run = doc["runs"]["experiments/a/run.py"]
    assert run["command"] == "python a --again"
    # outside the repository a file is recorded by its name alone (nas.fsutil.portable_path)
    assert run["inputs"] == {"table.yaml": file_sha256(data)} and file_sha256(data) != ABC_SHA256
    assert set(run) >= {"commit", "dirty", "made_at"}
    assert json.loads((tmp_path / "provenance.json").read_text())["runs"]["experiments/a/other.py"]["inputs"] == {}
