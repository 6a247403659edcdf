#!/usr/bin/env bash
# A local multi-region Meridian cluster on this machine: R regions x N nodes, every node a real
# meridiand process with its own data directory and master key. Traffic between regions goes
# through meridian-chaos-proxy (delay, jitter, partitions; this kernel has no netem), traffic
# inside a region goes direct. Loopback mode (the default) listens on 127.0.0.1 only. Namespace
# mode (--netns, root only) puts each region in its own network namespace joined to the host by a
# veth pair with private addresses 10.213.S.4r+1 (host) / .4r+2 (region), S from the base port;
# partitions are then nftables drops inside the region's namespace (silent, like a real network)
# and the proxy, in the host namespace, still adds the delay. Nothing outside this machine.
# Nodes talk mutual TLS on their peer ports, with certificates from a test CA minted into
# DIR/certs by make-certs.sh (--plaintext-peers: none); the proxy forwards the TLS bytes as they are.
#
#   deploy/local/cluster.sh start  [--regions eu,us,ap] [--nodes 1] [--dir .meridian/cluster]
#                                  [--base-port 7700] [--delay-ms 30:80] [--insecure]
#                                  [--plaintext-peers] [--netns]
#   deploy/local/cluster.sh status [--dir DIR]     # processes + `meridian status` of each node
#   deploy/local/cluster.sh stop   [--dir DIR]     # SIGTERM everything, wait for clean exits
#   deploy/local/cluster.sh cut REGION [--dir DIR] # partition REGION from every other region
#   deploy/local/cluster.sh heal REGION [--dir DIR]
#   deploy/local/cluster.sh nodes  [--dir DIR]     # one line per node: NAME REGION CLIENT PEER
#
# Ports: node i (0-based, in region order) serves clients on BASE+10*i and peers on BASE+10*i+1;
# the proxy's link from region R to node i listens on BASE+5000+100*r+i, its control socket on
# BASE+4999. Binaries: $MERIDIAN_BIN (a build dir holding node/meridiand, cli/meridian and
# chaos/meridian-chaos-proxy), else build/release (built when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

command=${1:-}
[ -n "$command" ] && shift
regions=eu,us,ap
nodes_per_region=1
dir=$root/.meridian/cluster
base_port=7700
delay=30:80
insecure=0
peer_tls=1
netns=0
while [ $# -gt 0 ]; do
  case $1 in
    --regions) regions=$2; shift 2 ;;
    --nodes) nodes_per_region=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --base-port) base_port=$2; shift 2 ;;
    --delay-ms) delay=$2; shift 2 ;;
    --insecure) insecure=1; shift ;;
    --plaintext-peers) peer_tls=0; shift ;;
    --netns) netns=1; shift ;;
    *) if [ -z "${target_region:-}" ] && [[ $1 != --* ]]; then target_region=$1; shift
       else echo "cluster.sh: unknown argument '$1'" >&2; exit 2; fi ;;
  esac
done
state=$dir/cluster.state

bin=${MERIDIAN_BIN:-$root/build/release}
meridian=$bin/cli/meridian

die() { echo "cluster.sh: $*" >&2; exit 1; }

# wait_for_line FILE PATTERN PID: until FILE has a line matching PATTERN (30 s), or PID dies.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3
  for _ in $(seq 1 600); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; die "process $pid exited (log: $file)"; }
    sleep 0.05
  done
  cat "$file" >&2
  die "timed out waiting for '$pattern' in $file"
}

control() {  # control COMMAND: one request to the proxy's control socket; prints the reply
  local port
  port=$(awk '$1 == "proxy" {print $3}' "$state")
  exec 3<>"/dev/tcp/127.0.0.1/$port" || die "cannot reach the chaos proxy on $port"
  printf '%s\n' "$1" >&3
  local reply
  read -r reply <&3
  exec 3>&-
  echo "$reply"
  [[ $reply == ok* ]]
}

# make_namespace NS IFPREFIX HOST_ADDR NS_ADDR: a namespace joined to the host by a veth pair
# (IFPREFIX"h" in the host, IFPREFIX"n" inside), each end with its /30 address.
make_namespace() {
  local ns=$1 hv=${2}h nv=${2}n
  ip netns add "$ns"
  ip link add "$hv" type veth peer name "$nv" netns "$ns"
  ip addr add "$3/30" dev "$hv"
  ip link set "$hv" up
  ip -n "$ns" addr add "$4/30" dev "$nv"
  ip -n "$ns" link set "$nv" up
  ip -n "$ns" link set lo up
}

start() {
  [ -f "$state" ] && die "a cluster is already recorded in $state (run stop first)"
  if [ ! -x "$bin/node/meridiand" ] || [ ! -x "$meridian" ] ||
    [ ! -x "$bin/chaos/meridian-chaos-proxy" ]; then
    [ -n "${MERIDIAN_BIN:-}" ] && die "no binaries in $MERIDIAN_BIN"
    ./scripts/build.sh release meridiand meridian meridian-chaos-proxy >/dev/null
  fi
  mkdir -p "$dir"
  IFS=, read -r -a region_list <<<"$regions"
  local names=() node_regions=() region_index=()
  local r i n=0
  for r in "${!region_list[@]}"; do
    for i in $(seq 1 "$nodes_per_region"); do
      names+=("${region_list[$r]}-$i"); node_regions+=("${region_list[$r]}"); region_index+=("$r")
      n=$((n + 1))
    done
  done
  : >"$state"
  # Where region r's nodes listen (region_addr) and where the proxy's links from region r listen
  # (link_addr): loopback, or the two ends of the region's veth pair.
  local region_addr=() link_addr=() region_ns=() allow=()
  for r in "${!region_list[@]}"; do region_addr[$r]=127.0.0.1; link_addr[$r]=127.0.0.1; done
  if [ "$netns" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "--netns needs root (the default loopback mode does not)"
    command -v ip >/dev/null && command -v nft >/dev/null ||
      die "--netns needs ip (iproute2) and nft (nftables): run scripts/install-deps.sh"
    [ ${#region_list[@]} -le 60 ] || die "--netns supports at most 60 regions"
    local subnet=$(((base_port / 100) % 250))
    for r in "${!region_list[@]}"; do
      region_ns[$r]=mrd$base_port-$r
      ! ip netns list | grep -q "^${region_ns[$r]}\b" ||
        die "namespace ${region_ns[$r]} exists (a cluster on base port $base_port not stopped?)"
      link_addr[$r]=10.213.$subnet.$((4 * r + 1))
      region_addr[$r]=10.213.$subnet.$((4 * r + 2))
      make_namespace "${region_ns[$r]}" "m${base_port}r$r" "${link_addr[$r]}" "${region_addr[$r]}"
      echo "netns ${region_list[$r]} ${region_ns[$r]} m${base_port}r${r}n $((base_port + 5000))" \
        "$((base_port + 5999))" >>"$state"
      allow+=(--allow-private "${link_addr[$r]}" --allow-private "${region_addr[$r]}")
    done
  fi
  # The proxy: one link per (region, node of another region).
  local links=() via=() k
  for r in "${!region_list[@]}"; do
    via[$r]=""
    for k in $(seq 0 $((n - 1))); do
      [ "${region_index[$k]}" = "$r" ] && continue
      local listen=${link_addr[$r]}:$((base_port + 5000 + 100 * r + k))
      local target=${region_addr[${region_index[$k]}]}:$((base_port + 10 * k + 1))
      links+=(--link "${region_list[$r]}-to-${names[$k]}=$listen->$target")
      via[$r]+=" --dial-via $target=$listen"
    done
  done
  local proxy_log=$dir/proxy.log proxy_pid=""
  if [ ${#links[@]} -gt 0 ]; then
    "$bin/chaos/meridian-chaos-proxy" "${links[@]}" "${allow[@]}" --delay-ms "$delay" \
      --control "127.0.0.1:$((base_port + 4999))" </dev/null >"$proxy_log" 2>&1 &
    proxy_pid=$!
    wait_for_line "$proxy_log" '^ready' "$proxy_pid"
    echo "proxy $proxy_pid $((base_port + 4999)) $proxy_log" >>"$state"
  fi
  # Every node seeds from the first node (through the proxy when in another region).
  local seed=${region_addr[0]}:$((base_port + 1))
  if [ "$peer_tls" = 1 ]; then
    deploy/local/make-certs.sh "$dir/certs" "${names[@]}"
  fi
  for k in $(seq 0 $((n - 1))); do
    local address=${region_addr[${region_index[$k]}]}
    local node_dir=$dir/${names[$k]} client=$address:$((base_port + 10 * k))
    local peer=$address:$((base_port + 10 * k + 1))
    local run=()
    [ "$netns" = 1 ] && run=(ip netns exec "${region_ns[${region_index[$k]}]}")
    mkdir -p "$node_dir"
    local secrets=(--insecure-no-encryption)
    if [ "$insecure" = 0 ]; then
      [ -f "$node_dir/master.key" ] || "$meridian" keygen --out "$node_dir/master.key" >/dev/null
      secrets=(--key-file "$node_dir/master.key")
    fi
    if [ "$peer_tls" = 1 ]; then
      secrets+=(--peer-tls-cert "$dir/certs/${names[$k]}.crt"
        --peer-tls-key "$dir/certs/${names[$k]}.key" --peer-tls-ca "$dir/certs/ca.crt")
    fi
    # shellcheck disable=SC2086 # via holds whole flags
    "${run[@]}" "$bin/node/meridiand" --data-dir "$node_dir/data" --listen "$client" --peer-listen "$peer" \
      --region "${node_regions[$k]}" --seeds "$seed" "${secrets[@]}" \
      ${via[${region_index[$k]}]} </dev/null >"$node_dir/meridiand.log" 2>&1 &
    local pid=$!
    echo "node ${names[$k]} ${node_regions[$k]} $client $peer $pid $node_dir" >>"$state"
    wait_for_line "$node_dir/meridiand.log" "listening on" "$pid"
  done
  local peers="mutual TLS between nodes"
  [ "$peer_tls" = 1 ] || peers="PLAINTEXT between nodes"
  echo "cluster: ${#region_list[@]} regions x $nodes_per_region nodes, inter-region delay" \
    "$delay ms one way, $peers (state: $state)"
  print_nodes
}

print_nodes() {
  awk '$1 == "node" {printf "  %-10s region %-6s client %-16s peer %-16s pid %s\n", $2, $3, $4, $5, $6}' "$state"
  awk '$1 == "proxy" {printf "  proxy      control 127.0.0.1:%s pid %s\n", $3, $2}' "$state"
}

status() {
  [ -f "$state" ] || die "no cluster recorded in $dir"
  print_nodes
  while read -r kind name region client _peer pid _dir; do
    [ "$kind" = node ] || continue
    echo "== $name ($region, $client)"
    if kill -0 "$pid" 2>/dev/null; then
      "$meridian" --server "$client" status | sed 's/^/   /' || true
    else
      echo "   not running"
    fi
  done <"$state"
}

stop() {
  [ -f "$state" ] || { echo "cluster.sh: no cluster recorded in $dir"; return 0; }
  local failed=0 pids=()
  while read -r kind a b c d e _; do
    local pid
    case $kind in
      node) pid=$e ;;
      proxy) pid=$a ;;
      *) continue ;;
    esac
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done <"$state"
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster.sh: process $pid did not stop; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      failed=1
    fi
  done
  # Namespace mode: deleting a namespace deletes its veth pair (and any partition rules) too.
  while read -r kind _region ns _; do
    [ "$kind" = netns ] || continue
    ip netns del "$ns" 2>/dev/null || { echo "cluster.sh: cannot delete namespace $ns" >&2; failed=1; }
  done <"$state"
  rm -f "$state"
  echo "cluster: stopped"
  return $failed
}

# netns_partition cut|heal REGION: in namespace mode, nftables rules in the region's namespace drop
# every packet between its nodes' peer ports and the proxy's links (in and out); client ports
# stay reachable. A drop is silent: connections stall and time out as on a real network.
netns_partition() {
  local verb=$1 r=$2 ns iface first last ports
  read -r ns iface first last < <(awk -v r="$r" '$1 == "netns" && $2 == r {print $3, $4, $5, $6}' "$state")
  if [ "$verb" = heal ]; then
    ip netns exec "$ns" nft delete table inet meridian_partition 2>/dev/null || true
    return 0
  fi
  ports=$(awk -v r="$r" '$1 == "node" && $3 == r {n = split($5, a, ":"); printf "%s%s", s, a[n]; s = ", "}' "$state")
  ip netns exec "$ns" nft -f - <<EOF
table inet meridian_partition {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "$iface" tcp dport { $ports } drop
    iifname "$iface" tcp sport $first-$last drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "$iface" tcp sport { $ports } drop
    oifname "$iface" tcp dport $first-$last drop
  }
}
EOF
}

partition() {  # partition cut|heal REGION
  local verb=$1 r=$2
  [ -n "$r" ] || die "$verb needs a region"
  grep -q "^node [^ ]* $r " "$state" || die "no region '$r' in this cluster"
  if grep -q "^netns $r " "$state"; then
    netns_partition "$verb" "$r"
    echo "cluster: region $r ${verb} (nftables)"
    return 0
  fi
  # Out of the region: the links named "<r>-to-*"; into it: "<other>-to-<node of r>".
  control "$verb $r-to-*" >/dev/null
  while read -r kind name region _; do
    [ "$kind" = node ] && [ "$region" = "$r" ] || continue
    while read -r other; do
      [ "$other" = "$r" ] && continue
      control "$verb $other-to-$name" >/dev/null
    done < <(awk '$1 == "node" {print $3}' "$state" | sort -u)
  done <"$state"
  echo "cluster: region $r ${verb}"
}

case $command in
  start) start ;;
  status) status ;;
  stop) stop ;;
  nodes) [ -f "$state" ] || die "no cluster recorded in $dir"
         awk '$1 == "node" {print $2, $3, $4, $5}' "$state" ;;
  cut) [ -f "$state" ] || die "no cluster recorded in $dir"; partition cut "${target_region:-}" ;;
  heal) [ -f "$state" ] || die "no cluster recorded in $dir"; partition heal "${target_region:-}" ;;
  *) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; [ -z "$command" ] || exit 2 ;;
esac
