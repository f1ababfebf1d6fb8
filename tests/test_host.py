"""The Apple-host pieces that run anywhere: reading `devicectl list devices --json-output`, telling a
complete results file of this bundle from a stale one, and the commands printed for a Mac."""

import json
import re
import subprocess
import sys
import time

import pytest

from nas.profiling import host

# The shape `xcrun devicectl list devices --json-output FILE` writes (Xcode 15+/16): a "result" object
# with "devices"; values as devicectl reports them ("connected" / "disconnected" / "unavailable" tunnels,
# "wired" / "localNetwork" transports). Written by hand from that format, identifiers made up.
DEVICES = {
    "info": {"arguments": ["devicectl", "list", "devices", "--json-output", "devices.json"], "outcome": "success"},
    "result": {"devices": [
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000001",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "connected",
                                  "transportType": "localNetwork"},
         "deviceProperties": {"name": "Watch", "osVersionNumber": "10.5"},
         "hardwareProperties": {"platform": "watchOS", "reality": "physical", "productType": "Watch6,1",
                                "udid": "00008301-0000000000000001"}},
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000002",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "unavailable"},
         "deviceProperties": {"name": "Old iPhone (asleep elsewhere)"},
         "hardwareProperties": {"platform": "iOS", "reality": "physical", "productType": "iPhone12,1",
                                "udid": "00008030-0000000000000002"}},
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000003",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "disconnected", "transportType": "wired"},
         "deviceProperties": {"name": "iPhone 11 on USB, tunnel idle", "osVersionNumber": "17.5"},
         "hardwareProperties": {"platform": "iOS", "reality": "physical", "productType": "iPhone12,1",
                                "udid": "00008030-0000000000000003"}},
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000004",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "connected",
                                  "transportType": "localNetwork"},
         "deviceProperties": {"name": "iPhone 15 over Wi-Fi", "osVersionNumber": "17.5"},
         "hardwareProperties": {"platform": "iOS", "reality": "physical", "productType": "iPhone15,4",
                                "udid": "00008120-0000000000000004"}},
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000005",
         "connectionProperties": {"pairingState": "unpaired", "tunnelState": "disconnected", "transportType": "wired"},
         "deviceProperties": {"name": "Unpaired iPhone"},
         "hardwareProperties": {"platform": "iOS", "reality": "physical", "productType": "iPhone12,1"}},
        {"identifier": "11111111-AAAA-4AAA-8AAA-000000000006",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "connected"},
         "deviceProperties": {"name": "not a physical device"},
         "hardwareProperties": {"platform": "iOS", "reality": "virtual", "productType": "iPhone12,1"}},
    ]},
}


def test_a_usb_phone_with_an_idle_tunnel_is_usable():
    found = host.usable_devices(DEVICES)
    # the watch, the unavailable phone, the unpaired one and the non-physical one are left out
    assert [d["name"] for d in found] == ["iPhone 15 over Wi-Fi", "iPhone 11 on USB, tunnel idle"]
    # asked for an iPhone 11, the idle-tunnel iPhone 11 comes first
    best = host.usable_devices(DEVICES, ("iPhone12,1",))[0]
    assert best["id"] == "11111111-AAAA-4AAA-8AAA-000000000003" and best["tunnel"] == "disconnected"


def test_no_usable_device():
    assert host.usable_devices({"result": {"devices": []}}) == []
    assert host.usable_devices({}) == []


def test_the_printed_udid_command_extracts_an_id(tmp_path):
    text = host.instructions(tmp_path / "bundle", "ane", "ab" * 32)
    line = next(l for l in text.splitlines() if "UDID=" in l)
    code = re.search(r'python3 -c "([^"]+)"', line).group(1)
    (tmp_path / "devices.json").write_text(json.dumps(DEVICES))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "11111111-AAAA-4AAA-8AAA-000000000003"  # first usable iOS phone in file order
    # the printed run uses the per-bundle results name, and the import command names it too
    assert text.count("results-ane-abababababab.jsonl") == 4  # launch --out, copy from (2), import


def _results(path, bundle_id, footer=True):
    lines = [{"kind": "header", "bundle_id": bundle_id}, {"kind": "entry", "key": "k"}]
    if footer:
        lines.append({"kind": "footer", "entries": 1})
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    return path


def test_results_of_another_bundle_are_not_complete(tmp_path):
    mine, other = "a" * 64, "b" * 64
    assert host.complete_results(_results(tmp_path / "r1", mine), mine)
    assert not host.complete_results(_results(tmp_path / "r2", other), mine)        # stale, other bundle
    assert not host.complete_results(_results(tmp_path / "r3", mine, footer=False), mine)  # still running
    (tmp_path / "r4").write_text('{"kind": "header", "bundle_id": "' + mine + '"}\n{"kind": "foo')
    assert not host.complete_results(tmp_path / "r4", mine)
    assert not host.complete_results(tmp_path / "missing", mine)
    assert host.results_name("ane", mine) != host.results_name("ane", other)


def test_mac_profile_runs_the_harness_with_wall_time_and_declared_inputs(tmp_path):
    cmd = host.mac_profile_command(tmp_path / "nas-profiler", tmp_path / "b", "ane", tmp_path / "r.jsonl")
    assert cmd[1:4] == ["profile", str(tmp_path / "b"), "--unit"] and "--resume" in cmd


def test_profile_ops_checks_units_and_network_counts_before_writing(tmp_path, capsys):
    from nas.cli import main
    out = tmp_path / "b"
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane,npu", "--space", "fbnet",
                 "--out", str(out)]) == 2
    assert "'npu'" in capsys.readouterr().err and not out.exists()
    assert main(["profile-ops", "--device", "iphone11", "--unit", "ane", "--space", "fbnet", "--calibrate", "3",
                 "--out", str(out)]) == 2
    assert "--calibrate" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(host.is_macos(), reason="checks the refusal off macOS")
def test_profile_ops_device_mac_off_macos_is_refused_before_converting(tmp_path, capsys, monkeypatch):
    """Regression: `nas profile-ops --device mac` (docs/profiling.md) on Linux converted the whole bundle
    (13 min for fbnet here) and only then said it needs macOS. It must refuse at once, writing nothing."""
    from nas.cli import main
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    assert main(["profile-ops", "--device", "mac", "--unit", "ane", "--space", "fbnet"]) == 2
    assert time.perf_counter() - t0 < 30
    assert "only runs on macOS" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []          # no latency_tables/mac.bundle, no lock file
