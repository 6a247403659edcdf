#!/usr/bin/env bash
# End-to-end benchmark of a real meridiand through the real `meridian` CLI: import throughput
# and exact-search QPS/latency on the shared datasets, recall@10 against their ground truth,
# each with encryption at rest and with --insecure-no-encryption in the same run, so the cost
# of sealing is measured on the same machine at the same time.
# Usage: bench/end_to_end.sh [DATASET ...]   (default: sift5k wordnet-use-512 glove6b-100-angular)
#        MERIDIAN_BENCH_QUERIES=N limits the queries per dataset (default 1000);
#        MERIDIAN_BENCH_REPS=R runs each mode R times, alternating (default 3); the summary uses
#        the median of the runs.
set -euo pipefail
source "$(dirname "$0")/common.sh"
datasets_root=${MERIDIAN_DATASETS:-$root/../shared/datasets}
max_queries=${MERIDIAN_BENCH_QUERIES:-1000}
reps=${MERIDIAN_BENCH_REPS:-3}
work=$(mktemp -d /tmp/meridian-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$meridian" keygen --out "$work/master.key" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "build:   $(grep CMAKE_BUILD_TYPE: "$bin/CMakeCache.txt" | cut -d= -f2), $(git rev-parse --short HEAD)"

# Writes the first N vectors of an fvecs file (dimension-prefixed rows) to another file.
head_fvecs() {
  local dim; dim=$(od -An -t d4 -N 4 "$1" | tr -d ' ')
  head -c $(( (4 + 4 * dim) * $3 )) "$1" >"$2"
}

run_one() {  # dataset mode(encrypted|plaintext)
  local name=$1 mode=$2 dir=$datasets_root/$1
  local base=$dir/${name}_base.fvecs gt=$dir/${name}_groundtruth.ivecs gtd=$dir/${name}_groundtruth_dist.fvecs
  local dim metric=l2 flags
  dim=$(od -An -t d4 -N 4 "$base" | tr -d ' ')
  grep -qi -E "cosine|angular" "$dir/README.md" && metric=cosine
  head_fvecs "$dir/${name}_query.fvecs" "$work/q.fvecs" "$max_queries"
  if [ "$mode" = encrypted ]; then flags=(--key-file "$work/master.key"); else flags=(--insecure-no-encryption); fi
  rm -rf "$work/data" "$work/log"
  start_node "$work/data" "$work/log" "${flags[@]}"
  "$meridian" --server "$server" collection create bench --dim "$dim" --metric "$metric" >/dev/null
  local import search recall
  import=$("$meridian" --server "$server" import bench "$base" 2>/dev/null | tail -1)
  search=$("$meridian" --server "$server" search bench --queries "$work/q.fvecs" --k 10 \
             --out "$work/r.ivecs" --out-dist "$work/rd.fvecs" | tail -1)
  recall=$("$meridian" recall "$work/r.ivecs" "$gt" --k 10 --gt-dist "$gtd" --result-dist "$work/rd.fvecs")
  kill -TERM "$pid"; wait "$pid"
  local vps qps p50 p99
  vps=$(sed -E 's/.*\(([0-9.]+) vectors\/s\).*/\1/' <<<"$import")
  qps=$(sed -E 's/.*: ([0-9.]+) QPS.*/\1/' <<<"$search")
  p50=$(sed -E 's/.*p50 ([0-9.]+) ms.*/\1/' <<<"$search")
  p99=$(sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' <<<"$search")
  printf "%-22s %-10s %12s %10s %9s %9s  %s\n" "$name" "$mode" "$vps" "$qps" "$p50" "$p99" "$recall"
  echo "$name $mode $vps $qps" >>"$work/rows"
}

printf "%-22s %-10s %12s %10s %9s %9s  %s\n" dataset mode "import v/s" "QPS(1/req)" "p50 ms" "p99 ms" recall
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(sift5k wordnet-use-512 glove6b-100-angular)
for d in "${datasets[@]}"; do
  [ -f "$datasets_root/$d/${d}_base.fvecs" ] || { echo "skip $d: not in $datasets_root"; continue; }
  for _ in $(seq 1 "$reps"); do
    run_one "$d" plaintext
    run_one "$d" encrypted
  done
done
echo
echo "cost of encryption at rest (median encrypted / median plaintext over $reps runs):"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for d in $(cut -d' ' -f1 "$work/rows" | sort -u); do
  vp=$(awk -v d="$d" '$1==d && $2=="plaintext" {print $3}' "$work/rows" | median)
  ve=$(awk -v d="$d" '$1==d && $2=="encrypted" {print $3}' "$work/rows" | median)
  qp=$(awk -v d="$d" '$1==d && $2=="plaintext" {print $4}' "$work/rows" | median)
  qe=$(awk -v d="$d" '$1==d && $2=="encrypted" {print $4}' "$work/rows" | median)
  awk -v d="$d" -v vp="$vp" -v ve="$ve" -v qp="$qp" -v qe="$qe" 'BEGIN {
    printf "  %-22s import %8.0f -> %8.0f v/s (%.3f)   search %7.1f -> %7.1f QPS (%.3f)\n",
           d, vp, ve, ve / vp, qp, qe, qe / qp }'
done
