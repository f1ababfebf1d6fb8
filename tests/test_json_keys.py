"""A key twice in one JSON object is refused in every JSON file the CLI reads (``nas.fsutil.loads_json``).

Plain ``json.loads`` keeps the last value, so ``{"best": A, "best": B}`` said two things and the reader
silently chose one. Each case crafts the duplicate by hand and expects the one ``nas: error:`` line to
name the file (and, for JSON lines, the line) and the key, exit 2, and nothing written.
"""

from __future__ import annotations

import json

import pytest

from nas.fsutil import loads_json
from test_bad_input import bundle, files_in, import_refused, refused, write_bundle_files  # noqa: F401


def test_loads_json_refuses_a_duplicate_key_at_any_depth():
    assert loads_json('{"a": {"b": 1, "c": 2}}') == {"a": {"b": 1, "c": 2}}
    for text in ('{"a": 1, "a": 1}', '{"x": [{"b": 1, "b": 2}]}', '[{"\\u0061": 1, "a": 2}]'):
        with pytest.raises(ValueError, match="duplicate key 'a'|duplicate key 'b'"):
            loads_json(text)


def test_bundle_manifest_with_a_key_twice(bundle, capsys):
    root, manifest, rows = bundle
    results, m = write_bundle_files(root, manifest, rows)
    m.write_text(m.read_text().replace('{"', '{"bundle_id": "x", "', 1))              # was: the last one won
    import_refused(capsys, root, results, m, "manifest.json", "duplicate key 'bundle_id'")


def test_results_line_with_a_key_twice(bundle, capsys):
    root, manifest, rows = bundle
    results, m = write_bundle_files(root, manifest, rows)
    lines = results.read_text().splitlines(keepends=True)
    key = next(iter(json.loads(lines[1])))
    lines[1] = lines[1].replace("{", f'{{"{key}": 0, ', 1)                           # was: the last one won
    results.write_text("".join(lines))
    import_refused(capsys, root, results, m, "results.jsonl", "line 2", f"duplicate key '{key}'")


def test_summary_json_with_a_key_twice(tmp_path, capsys):
    d = tmp_path / "search"
    d.mkdir()
    best = {"arch": "32:conv_k3_s2_c8|gap,fc_c10", "accuracy": 0.5, "latency_ms": 1.0}
    (d / "summary.json").write_text('{"best": {"accuracy": 0.9, ' + json.dumps(best)[1:] + "}")
    refused(capsys, ["report", "--search-dir", d, "--model", "mobilenet_v2", "--out", tmp_path / "r"],
            d / "summary.json", "duplicate key 'accuracy'")
    assert files_in(tmp_path) == ["search", "search/summary.json"]
