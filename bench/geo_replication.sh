#!/usr/bin/env bash
# Geo-replication benchmark on a local 3-region cluster (deploy/local/cluster.sh, loopback mode,
# fixed one-way delay between regions through the chaos proxy):
#  1. replication lag p50/p99 (write acknowledged in eu until visible in us and ap) under a
#     steady background write load in eu, and the write throughput the load held;
#  2. a partition of eu from us and ap for PARTITION_S seconds while both sides write OPS
#     divergent upserts each, then the time from heal until every node's digest is identical.
# Usage: bench/geo_replication.sh [--delay-ms 50] [--load-rate 2000] [--probes 200]
#                                 [--ops 100000] [--partition-s 60] [--dim 32]
# MERIDIAN_BENCH_BIN=DIR uses binaries already built there (see bench/common.sh).
set -euo pipefail
source "$(dirname "$0")/common.sh"
delay=50 load_rate=2000 probes=200 ops=100000 partition_s=60 dim=32
while [ $# -gt 0 ]; do
  case $1 in
    --delay-ms) delay=$2; shift 2 ;;
    --load-rate) load_rate=$2; shift 2 ;;
    --probes) probes=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --partition-s) partition_s=$2; shift 2 ;;
    --dim) dim=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin/chaos/meridian-chaos-proxy" ] || ./scripts/build.sh release meridian-chaos-proxy >/dev/null
work=$(mktemp -d /tmp/meridian-geo-bench.XXXXXX)
export MERIDIAN_BIN=$bin
cluster() { deploy/local/cluster.sh "$@" --dir "$work/cluster"; }
trap 'cluster stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cluster start --regions eu,us,ap --nodes 1 --base-port 19700 --delay-ms "$delay:$delay" --insecure \
  >/dev/null
eu=$(cluster nodes | awk '$2 == "eu" {print $3}')
us=$(cluster nodes | awk '$2 == "us" {print $3}')
ap=$(cluster nodes | awk '$2 == "ap" {print $3}')
m() { "$meridian" --server "$@"; }

wait_for() {  # wait_for SECONDS COMMAND...
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "timed out: $*" >&2; return 1; }
    sleep 0.05
  done
}
connected() { [ "$(m "$eu" status | grep -c 'bench -> .* connected')" = 2 ]; }
digests_equal() {
  local a b c
  a=$(m "$eu" collection info bench | grep digest)
  b=$(m "$us" collection info bench | grep digest)
  c=$(m "$ap" collection info bench | grep digest)
  [ "$a" = "$b" ] && [ "$b" = "$c" ]
}

m "$eu" collection create bench --dim "$dim" --metric l2 >/dev/null
wait_for 30 connected
echo "== 1. replication lag, ${delay} ms one-way delay between 3 regions, load $load_rate points/s in eu"
m "$eu" replication-lag bench --to "$us,$ap" --probes "$probes" --load-rate "$load_rate" \
  --interval-ms 20 | tee "$work/lag.txt"
wait_for 60 digests_equal

echo "== 2. partition eu from us+ap for ${partition_s} s with $ops upserts per side, then heal"
"$meridian" gen-dataset --dir "$work/data" --name a --n "$ops" --dim "$dim" --queries 1 --seed 1 >/dev/null
"$meridian" gen-dataset --dir "$work/data" --name b --n "$ops" --dim "$dim" --queries 1 --seed 2 >/dev/null
expected=$(( $(m "$eu" count bench) + 2 * ops ))
cut_at=$SECONDS
cluster cut eu >/dev/null
m "$eu" import bench "$work/data/a_base.fvecs" --first-id 1000000000 >/dev/null 2>&1
m "$us" import bench "$work/data/b_base.fvecs" --first-id 2000000000 >/dev/null 2>&1
while [ $((SECONDS - cut_at)) -lt "$partition_s" ]; do sleep 0.2; done
healed=$(date +%s%N)
cluster heal eu >/dev/null
# A digest costs O(points) on the node's loop, so wait on the (cheap) counts first, then check
# that the digests agree.
counts_reached() {
  local n
  for server in "$eu" "$us" "$ap"; do
    n=$(m "$server" count bench) || return 1
    [ "$n" = "$expected" ] || return 1
  done
}
until counts_reached; do sleep 0.02; done
until digests_equal; do sleep 0.2; done
converged_ms=$(( ($(date +%s%N) - healed) / 1000000 ))
echo "converged ${converged_ms} ms after heal ($((2 * ops)) divergent upserts; every node holds" \
  "$(m "$ap" count bench) points)"
# The digests agree as soon as every point arrived by any path (us forwards eu's writes to ap);
# the streams drain their acknowledgements after that. A stuck stream would never get here.
drained() { ! m "$eu" status | grep -E "bench ->" | grep -vq "lag 0 deltas"; }
wait_for 120 drained
echo "every stream from eu acknowledged everything $(( ($(date +%s%N) - healed) / 1000000 )) ms" \
  "after heal"
m "$eu" status | grep -E "bench ->"
