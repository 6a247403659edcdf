#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, starts a Meridian node on an
# embedded default data directory (.meridian/demo), creates a collection, imports a real
# dataset from ../shared/datasets when present (else a generated one), runs its queries, prints
# recall@10 and latency percentiles, and stops the node cleanly.
# Environment: MERIDIAN_DEMO_DATASET (default sift5k), MERIDIAN_DEMO_LISTEN (default
# 127.0.0.1:0, a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/install-deps.sh
./scripts/build.sh release meridiand meridian

bin=$root/build/release
meridian=$bin/cli/meridian
work=$root/.meridian/demo
dataset=${MERIDIAN_DEMO_DATASET:-sift5k}
listen=${MERIDIAN_DEMO_LISTEN:-127.0.0.1:0}
mkdir -p "$work"

# Data: a real dataset beside the checkout, else a generated clustered one.
shared=$root/../shared/datasets/$dataset
if [ -f "$shared/${dataset}_base.fvecs" ]; then
  data_dir=$shared; name=$dataset
  echo "demo: using the real dataset $shared"
else
  data_dir=$work/generated; name=generated
  if [ ! -f "$data_dir/${name}_groundtruth.ivecs" ]; then
    echo "demo: ../shared/datasets/$dataset not found; generating a synthetic dataset"
    "$meridian" gen-dataset --dir "$data_dir" --name "$name" --n 20000 --dim 64 --queries 200
  fi
fi
dim=$(od -An -t d4 -N 4 "$data_dir/${name}_base.fvecs" | tr -d ' ')
metric=l2
grep -qi -E "cosine|angular" "$data_dir/README.md" 2>/dev/null && metric=cosine

# A master key for encryption at rest, made once.
key=$work/master.key
[ -f "$key" ] || "$meridian" keygen --out "$key"

# Fresh data each run, so the demo always shows a full import.
rm -rf "$work/data"
log=$work/meridiand.log
"$bin/node/meridiand" --data-dir "$work/data" --listen "$listen" --key-file "$key" 2>"$log" &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  grep -q "listening on" "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "demo: meridiand failed to start" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$log" || { cat "$log"; echo "demo: meridiand did not start" >&2; exit 1; }
server=$(grep 'listening on' "$log" | tail -1 | sed 's/.*listening on //')
echo "demo: meridiand is listening on $server (log: $log)"

m() { "$meridian" --server "$server" "$@"; }
m collection create demo --dim "$dim" --metric "$metric"
m import demo "$data_dir/${name}_base.fvecs"
m collection info demo
m search demo --queries "$data_dir/${name}_query.fvecs" --k 10 \
  --out "$work/result.ivecs" --out-dist "$work/result_dist.fvecs"
"$meridian" recall "$work/result.ivecs" "$data_dir/${name}_groundtruth.ivecs" --k 10 \
  --gt-dist "$data_dir/${name}_groundtruth_dist.fvecs" --result-dist "$work/result_dist.fvecs"
m status

trap - EXIT
kill -TERM "$pid"
if wait "$pid"; then
  echo "demo: node stopped cleanly"
else
  echo "demo: node exited with an error; see $log" >&2
  exit 1
fi
