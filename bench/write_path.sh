#!/usr/bin/env bash
# Write-path benchmark: upserts per second through a real meridiand (RPC, validation, CRDT,
# sealing, one fsync'ed LMDB commit per batch) for batches of 1, 100 and 1000 points, with
# encryption at rest on. Usage: bench/write_path.sh [BASE.fvecs]  (default: sift5k's base)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# MERIDIAN_BENCH_BIN=DIR uses binaries already built there instead of building the release preset.
if [ -n "${MERIDIAN_BENCH_BIN:-}" ]; then
  bin=$MERIDIAN_BENCH_BIN
else
  ./scripts/build.sh release meridiand meridian >/dev/null
  bin=$root/build/release
fi
meridian=$bin/cli/meridian
base=${1:-$root/../shared/datasets/sift5k/sift5k_base.fvecs}
work=$(mktemp -d /tmp/meridian-write.XXXXXX)
trap 'kill -TERM $pid 2>/dev/null || true; rm -rf "$work"' EXIT
if [ ! -f "$base" ]; then
  "$meridian" gen-dataset --dir "$work/gen" --name gen --n 5000 --dim 128 --queries 1 >/dev/null
  base=$work/gen/gen_base.fvecs
fi
dim=$(od -An -t d4 -N 4 "$base" | tr -d ' ')
"$meridian" keygen --out "$work/master.key" >/dev/null
"$bin/node/meridiand" --data-dir "$work/data" --listen 127.0.0.1:0 --key-file "$work/master.key" \
  2>"$work/log" &
pid=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/log" 2>/dev/null && break; sleep 0.05; done
server=$(grep 'listening on' "$work/log" | sed 's/.*listening on //')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(git rev-parse --short HEAD)"
for batch in 1 100 1000; do
  "$meridian" --server "$server" collection create "b$batch" --dim "$dim" --metric l2 >/dev/null
  line=$("$meridian" --server "$server" import "b$batch" "$base" --batch "$batch" 2>/dev/null | tail -1)
  printf "batch %5d: %s\n" "$batch" "$line"
done
