#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole test suite
# (every label but `slow`; set MERIDIAN_TEST_ALL=1 to include the slow suites).
# Usage: scripts/test.sh [preset]   (release by default; asan and tsan work too)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
./scripts/install-deps.sh
./scripts/build.sh "$preset"
exclude=(-LE slow)
if [ "${MERIDIAN_TEST_ALL:-0}" = "1" ]; then exclude=(); fi
ctest --preset "$preset" "${exclude[@]}"
