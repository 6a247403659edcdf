# Sourced by the bench scripts: finds (or builds) the binaries and starts a node.
# Sets: root, bin, meridian. MERIDIAN_BENCH_BIN=DIR uses binaries already built there instead of
# building the release preset.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
if [ -n "${MERIDIAN_BENCH_BIN:-}" ]; then
  bin=$MERIDIAN_BENCH_BIN
else
  ./scripts/build.sh release meridiand meridian >/dev/null
  bin=$root/build/release
fi
meridian=$bin/cli/meridian

# start_node DATA_DIR LOG [meridiand flags...]: starts meridiand on a free port; sets pid, server.
start_node() {
  local data=$1 log=$2
  shift 2
  "$bin/node/meridiand" --data-dir "$data" --listen 127.0.0.1:0 "$@" 2>"$log" &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.05; done
  server=$(grep 'listening on' "$log" | sed 's/.*listening on //')
}
