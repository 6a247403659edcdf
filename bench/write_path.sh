#!/usr/bin/env bash
# Write-path benchmark: upserts per second through a real meridiand (RPC, validation, CRDT,
# sealing, one fsync'ed LMDB commit per batch) for batches of 1, 100 and 1000 points, with
# encryption at rest on. Usage: bench/write_path.sh [BASE.fvecs]  (default: sift5k's base)
set -euo pipefail
source "$(dirname "$0")/common.sh"
base=${1:-$root/../shared/datasets/sift5k/sift5k_base.fvecs}
work=$(mktemp -d /tmp/meridian-write.XXXXXX)
trap 'kill -TERM $pid 2>/dev/null || true; rm -rf "$work"' EXIT
if [ ! -f "$base" ]; then
  "$meridian" gen-dataset --dir "$work/gen" --name gen --n 5000 --dim 128 --queries 1 >/dev/null
  base=$work/gen/gen_base.fvecs
fi
dim=$(od -An -t d4 -N 4 "$base" | tr -d ' ')
"$meridian" keygen --out "$work/master.key" >/dev/null
start_node "$work/data" "$work/log" --key-file "$work/master.key"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(git rev-parse --short HEAD)"
for batch in 1 100 1000; do
  "$meridian" --server "$server" collection create "b$batch" --dim "$dim" --metric l2 >/dev/null
  line=$("$meridian" --server "$server" import "b$batch" "$base" --batch "$batch" 2>/dev/null | tail -1)
  printf "batch %5d: %s\n" "$batch" "$line"
done
