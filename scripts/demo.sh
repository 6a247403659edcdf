#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and starts a local 3-region cluster
# (deploy/local/cluster.sh: regions eu, us and ap, one node each, 30-80 ms one-way delay between
# regions through the chaos proxy, every node encrypted at rest with its own key and talking
# mutual TLS to the others with certificates from a test CA). Then it
# creates a collection in eu (the catalog replicates it), imports a real dataset from
# ../shared/datasets when present (else a generated one) in eu, shows how long the other regions
# took to have every point, searches in us and ap with recall@10, measures replication lag, shows
# a write concern that waits for every region, and stops the cluster cleanly.
# Environment: MERIDIAN_DEMO_DATASET (default sift5k), MERIDIAN_DEMO_BASE_PORT (default 7700),
# MERIDIAN_BIN (use binaries already built there; skips installing and building).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${MERIDIAN_BIN:-}" ]; then
  ./scripts/install-deps.sh
  ./scripts/build.sh release meridiand meridian meridian-chaos-proxy
fi

bin=${MERIDIAN_BIN:-$root/build/release}
meridian=$bin/cli/meridian
work=$root/.meridian/demo
cluster_dir=$work/cluster
dataset=${MERIDIAN_DEMO_DATASET:-sift5k}
base_port=${MERIDIAN_DEMO_BASE_PORT:-7700}
mkdir -p "$work"
export MERIDIAN_BIN=$bin
cluster() { deploy/local/cluster.sh "$@" --dir "$cluster_dir"; }

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
points=$(( $(stat -c %s "$data_dir/${name}_base.fvecs") / (4 + 4 * dim) ))
metric=l2
grep -qi -E "cosine|angular" "$data_dir/README.md" 2>/dev/null && metric=cosine

# A fresh cluster each run, so the demo always shows a full import and replication.
cluster stop >/dev/null 2>&1 || true
rm -rf "$cluster_dir"
cluster start --regions eu,us,ap --nodes 1 --base-port "$base_port"
trap 'cluster stop >/dev/null 2>&1 || true' EXIT
eu=$(cluster nodes | awk '$2 == "eu" {print $3; exit}')
us=$(cluster nodes | awk '$2 == "us" {print $3; exit}')
ap=$(cluster nodes | awk '$2 == "ap" {print $3; exit}')

# wait_for "WHAT" COMMAND...: reruns COMMAND until it succeeds (30 s deadline).
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "demo: timed out waiting for $what" >&2; exit 1
}
has_points() { [ "$("$meridian" --server "$1" count demo 2>/dev/null)" = "$2" ]; }

echo; echo "== create the collection in eu; the catalog brings it to us and ap"
"$meridian" --server "$eu" collection create demo --dim "$dim" --metric "$metric" --index hnsw
wait_for "the collection in us" "$meridian" --server "$us" collection info demo
wait_for "the collection in ap" "$meridian" --server "$ap" collection info demo
# Every replica has found its peers by gossip (so the import streams instead of being sent as a
# full-state transfer later).
replicating() { [ "$("$meridian" --server "$eu" status | grep -c 'demo -> .* connected')" = 2 ]; }
wait_for "eu to connect to the replicas in us and ap" replicating

echo; echo "== import $points points in eu"
"$meridian" --server "$eu" import demo "$data_dir/${name}_base.fvecs"
start=$(date +%s%N)
wait_for "every point in us" has_points "$us" "$points"
us_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_for "every point in ap" has_points "$ap" "$points"
ap_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "all $points points visible in us ${us_ms} ms and in ap ${ap_ms} ms after the import returned"

for region in us ap; do
  server=${!region}
  echo; echo "== search in $region ($server)"
  "$meridian" --server "$server" search demo --queries "$data_dir/${name}_query.fvecs" --k 10 \
    --out "$work/result_$region.ivecs" --out-dist "$work/result_${region}_dist.fvecs"
  "$meridian" recall "$work/result_$region.ivecs" "$data_dir/${name}_groundtruth.ivecs" --k 10 \
    --gt-dist "$data_dir/${name}_groundtruth_dist.fvecs" \
    --result-dist "$work/result_${region}_dist.fvecs"
done

echo; echo "== replication lag: single writes in eu until visible in us and ap"
"$meridian" --server "$eu" replication-lag demo --to "$us,$ap" --probes 50

echo; echo "== a delete in us with write concern all_regions (answers once eu and ap have it)"
"$meridian" --server "$us" delete demo 0 1 2 --write-concern all_regions

echo; echo "== digests (identical when converged) and the status of eu"
for region in eu us ap; do
  server=${!region}
  wait_for "$region to converge" has_points "$server" "$((points - 3))"
  printf '%s  ' "$region"; "$meridian" --server "$server" collection info demo | grep digest
done
"$meridian" --server "$eu" status

echo
trap - EXIT
cluster stop
