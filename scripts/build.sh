#!/usr/bin/env bash
# Configures and builds Meridian with the given CMake preset (default: release).
# Usage: scripts/build.sh [preset] [extra targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
cmake --preset "$preset" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build --preset "$preset" --target "$@"
else
  cmake --build --preset "$preset"
fi
