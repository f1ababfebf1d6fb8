#!/usr/bin/env bash
# The project's test command: the Swift harness's tests (ios_profiler), then the Python tests.
# Creates .venv (as the README's set-up command does) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -e '.[test]'
fi
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
if [ -f ios_profiler/Package.swift ]; then
  if command -v swift >/dev/null 2>&1; then
    # XCTest only: the package has no Swift Testing tests, whose runner would report "0 tests".
    (cd ios_profiler && swift build && swift test --disable-swift-testing)
  else
    echo "SKIPPED ios_profiler swift tests: no Swift toolchain on PATH (or /opt/swift/usr/bin)"
  fi
fi
# Tests marked slow (export of every zoo model, DNAS training, full Core ML bundles, ...) run with
# NAS_SLOW=1 bash scripts/test.sh; the default run stays within CI's time budget.
if [ "${NAS_SLOW:-0}" = "1" ]; then
  .venv/bin/python -m pytest -q -rs "$@"
else
  .venv/bin/python -m pytest -q -rs -m "not slow" "$@"
fi
