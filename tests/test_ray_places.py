"""--ray-address and --ray-storage refused by their syntax before anything is written, and without Ray started.

The accepted forms are checked against Ray's and pyarrow's own readers (``ray._common.network_utils.
parse_address``, ``pyarrow.fs.FileSystem.from_uri``), not against nas's checker; no test starts Ray.
"""

from __future__ import annotations

import pytest

from nas.cli import main
from nas.errors import NasError
from nas.search.backends.ray_places import check_ray_address, check_ray_storage, storage_path
from search_fixtures import tiny_space, write_table

ACCEPTED = ["10.0.0.5:6379", "head-node.example.com:6379", "localhost:1", "[::1]:6379", "[fe80::1]:65535"]
REFUSED = {"host": "no HOST:PORT", "host:0": "1..65535", "host:65536": "1..65535", "host:63a79": "1..65535",
           ":6379": "no HOST:PORT", "a b:1": "not a host name", "-bad:1": "not a host name", "[::zz]:1": "IPv6",
           "http://head:8265": "dashboard", "https://head:8265": "dashboard", "grpc://head:1": "ray:// only",
           "ray://head": "no HOST:PORT", "x" * 10_000: "10000 characters"}


@pytest.mark.parametrize("address", ACCEPTED)
def test_accepted_addresses_are_what_ray_parses(address):
    parse_address = pytest.importorskip("ray._common.network_utils").parse_address
    for given in (address, f"ray://{address}"):
        check_ray_address(given)
    host, port = parse_address(address)
    assert 1 <= int(port) <= 65535 and host and address.endswith(f":{port}")
    check_ray_address("auto")
    check_ray_address("local")


@pytest.mark.parametrize("address,why", REFUSED.items(), ids=[k[:16] for k in REFUSED])
def test_refused_addresses(address, why):
    with pytest.raises(NasError, match="--ray-address") as e:
        check_ray_address(address)
    assert why in str(e.value) and len(str(e.value)) < 400


def test_storage_local_made_absolute_uris_kept(tmp_path, monkeypatch):
    fs = pytest.importorskip("pyarrow.fs")
    monkeypatch.chdir(tmp_path)
    check_ray_storage("runs/ray")
    with pytest.raises(Exception, match="empty scheme"):             # what Tune met with a relative folder
        fs.FileSystem.from_uri("runs/ray")
    opened, path = fs.FileSystem.from_uri(storage_path("runs/ray"))
    assert type(opened).__name__ == "LocalFileSystem" and path == str(tmp_path / "runs" / "ray")
    assert storage_path("s3://bucket/runs") == "s3://bucket/runs"     # not folded into s3:/bucket/runs
    assert fs.FileSystem.from_uri(storage_path(f"file://{tmp_path}"))[1] == str(tmp_path)


@pytest.mark.parametrize("storage,why", [
    ("FILE/x", "is a file"), ("FILE", "is a file, not a folder"), ("ftp://host/x", "not ftp://"),
    ("http://host/x", "not http://"), ("s3://", "names no bucket"), ("file://rel/x", "absolute path"),
    ("x" * 10_000, "10000 characters"),
])
def test_refused_storage(storage, why, tmp_path, monkeypatch):
    fs = pytest.importorskip("pyarrow.fs")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("a file\n")
    with pytest.raises(NasError, match="--ray-storage") as e:
        check_ray_storage(storage)
    assert why in str(e.value)
    if "://" in storage and storage.split(":")[0] in ("ftp", "http"):
        with pytest.raises(Exception, match="Unrecognized filesystem"):    # pyarrow refuses them too
            fs.FileSystem.from_uri(storage)


@pytest.mark.parametrize("value,where", [("gs://b\n", "U+000A at character 7"), ("s3://b\tc", "U+0009 at character 7"),
                                         ("gs://b\x00x", "U+0000 at character 7"),
                                         ("/tmp/runs\x1b[2J", "U+001B at character 10"),
                                         ("gs://b\u202ex", "U+202E at character 7")])
def test_control_characters_are_refused(value, where):
    """hostile11: ``gs://b`` with a trailing newline (a value pasted from a file) passed; Tune then failed in
    pyarrow ("Cannot parse URI ... syntax error at character '\\n'") with a traceback, after ``trials.jsonl`` was
    written. A character that prints as nothing is refused in both flags, its code point and place named."""
    fs = pytest.importorskip("pyarrow.fs")
    with pytest.raises(NasError, match="--ray-storage") as e:
        check_ray_storage(value)
    assert f"control character ({where}" in str(e.value)
    if value.startswith("gs://b\n"):
        with pytest.raises(Exception, match="Cannot parse URI"):          # what Tune met
            fs.FileSystem.from_uri(value)
    with pytest.raises(NasError, match="--ray-address") as e:
        check_ray_address("head:6379\n")
    assert "U+000A at character 10" in str(e.value)


@pytest.mark.parametrize("flag,value", [("--ray-address", "head"), ("--ray-address", "http://head:8265"),
                                        ("--ray-storage", "FILE/x"), ("--ray-storage", "ftp://host/x"),
                                        ("--ray-storage", "gs://b\n")])
def test_cli_refuses_before_any_write_without_starting_ray(flag, value, tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray.tune")
    import ray
    space_path, space = tiny_space(tmp_path)
    table = write_table(space, tmp_path / "t.yaml")
    work = tmp_path / "work"
    work.mkdir()
    (work / "FILE").write_text("a file\n")
    monkeypatch.chdir(work)
    rc = main(["search", "--space", str(space_path), "--table", str(table), "--target-ms", "50", "--out", "o",
               "--no-export", "--no-baselines", "--accuracy", "train", "--backend", "ray", flag, value])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"nas: error: {flag} ") and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in work.iterdir()) == ["FILE"] and not ray.is_initialized()


@pytest.mark.parametrize("address,expect", [
    (None, {"num_cpus": 3}), ("local", {"address": "local", "num_cpus": 3}),
    ("auto", {"address": "auto"}), ("10.0.0.2:6379", {"address": "10.0.0.2:6379"})])
def test_connect_gives_workers_cpus_to_a_new_local_ray_only(monkeypatch, address, expect):
    # ray.init: num_cpus only when it starts a new local Ray (no address, or "local"); joining a cluster takes
    # the cluster's CPUs (Ray refuses num_cpus there). A stand-in module records the call: no Ray starts.
    import sys
    import types
    from nas.search.backends.ray_tune import connect
    calls = []
    fake = types.SimpleNamespace(is_initialized=lambda: False, init=lambda **kw: calls.append(kw))
    monkeypatch.setitem(sys.modules, "ray", fake)
    assert connect(address, 3) is True
    got = {k: v for k, v in calls[0].items() if k in ("address", "num_cpus") and v is not None}
    assert got == expect
