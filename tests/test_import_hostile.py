"""``nas tables import`` of results files whose header or lines were crafted past the JSON schema (hostile11).

Each case is a results file for a real lut4 bundle (``test_profile_compressed``'s, timings written by hand) with
one value edited here; the field and reason the refusal must name are written by hand. Before the fix each was
imported: an unknown runtime became a measured Core ML table, control characters went into the provenance that
``tables show`` prints, ``n`` of 10^30 gave a table its own loader refused, and a table named for another
device or unit was written where no lookup would take it.
"""

from __future__ import annotations

import json

import pytest

from nas.cli import main
from test_bad_input import files_in, refused
from test_profile_compressed import _results, bundle  # noqa: F401 -- the lut4 bundle fixture

# (line index, path to the value, crafted value, what the refusal says); line 0 is the header, 3 the first entry
CASES = [
    (0, ("device", "runtime"), "TensorFlow Lite",
     "line 1 (header): field device.runtime: 'TensorFlow Lite' is not a runtime the harness measures with"),
    (0, ("device", "os"), "iOS 17.5\x1b[2J", "line 1 (header): field device.os: 'iOS 17.5\\x1b[2J' holds a control "
     "character (U+001B at character 9)"),
    (0, ("device", "runtime_version"), "17.5\n", "field device.runtime_version: '17.5\\n' holds a control character"),
    (0, ("harness",), "h\u202eevil", "field harness: 'h\\u202eevil' holds a control character (U+202E"),
    (0, ("started",), "9999-99-99T99:99:99Z", "field started: '9999-99-99T99:99:99Z' is not a date and time"),
    (0, ("protocol", "min_runs"), 10**30, "field protocol.min_runs: 1000000000000000000000000000000 is out of range"),
    (3, ("stats", "n"), 10**30, "line 4 (entry): field stats.n: 1000000000000000000000000000000 timed runs (at most "
     "1000000000)"),
    (3, ("latency_ms",), 1e300, "line 4 (entry): field latency_ms: 1e+300 ms is not a time of one call"),
    (3, ("stats", "p90_ms"), 1e7, "field stats.p90_ms: 10000000.0 ms is not a time of one call (at most 1e+06 ms)"),
]


def _crafted(m, path, line, keys, value):
    _results(m, path)
    rows = [json.loads(l) for l in path.read_text().splitlines()]
    target = rows[line]
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("line, keys, value, why", CASES, ids=[".".join(c[1]) for c in CASES])
def test_crafted_results_are_refused_naming_line_and_field(bundle, tmp_path, capsys, line, keys, value, why):  # noqa: F811
    root, m = bundle
    res = _crafted(m, tmp_path / "r.jsonl", line, keys, value)
    refused(capsys, ["tables", "import", res, "--manifest", root / "manifest.json", "--out",
                     tmp_path / "iphone11-ane.lut4.yaml"], res, why)
    assert files_in(tmp_path) == ["r.jsonl"]


@pytest.mark.parametrize("value, why", [(float("nan"), "NaN"), (-0.5, "less than the minimum of 0")])
def test_non_finite_and_negative_times_stay_refused(bundle, tmp_path, capsys, value, why):  # noqa: F811
    root, m = bundle
    res = _crafted(m, tmp_path / "r.jsonl", 3, ("latency_ms",), value)
    refused(capsys, ["tables", "import", res, "--manifest", root / "manifest.json", "--out", tmp_path / "t.yaml"],
            res, why)
    assert files_in(tmp_path) == ["r.jsonl"]


@pytest.mark.parametrize("name", ["iphone12-ane.lut4.yaml", "iphone11-gpu.yaml", "local-ane.yaml"])
def test_an_out_named_for_another_device_or_unit_is_refused(bundle, tmp_path, capsys, name):  # noqa: F811
    """The bundle is iphone11's, the results are of unit ane: the table is found only as iphone11-ane[.*].yaml."""
    root, m = bundle
    res = _results(m, tmp_path / "r.jsonl")
    line = refused(capsys, ["tables", "import", res, "--manifest", root / "manifest.json", "--out", tmp_path / name],
                   f"--out {tmp_path / name}", "the results are iphone11/ane")
    assert "name it iphone11-ane" in line
    assert files_in(tmp_path) == ["r.jsonl"]
    assert main(["tables", "import", str(res), "--manifest", str(root / "manifest.json"), "--out",
                 str(tmp_path / "mine.yaml")]) == 0          # a name of no device and unit is the user's choice
