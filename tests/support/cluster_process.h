// A local multi-region Meridian cluster of real processes for integration tests (the C++ twin of
// deploy/local/cluster.sh, loopback mode): R regions x N meridiand nodes on fixed free loopback
// ports, and one meridian-chaos-proxy that carries every byte between regions, so a test can
// partition a region, kill -9 and restart a node on its own data and ports, or wipe a node.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "tests/support/daemon_process.h"

namespace meridian::testing {

struct LocalClusterOptions {
  std::vector<std::string> regions = {"a", "b", "c"};
  size_t nodes_per_region = 1;
  // One master key file per node, in node order (region by region); empty: every node runs with
  // --insecure-no-encryption.
  std::vector<std::filesystem::path> key_files;
  // One-way delay the proxy adds between regions, "MIN:MAX" milliseconds.
  std::string proxy_delay_ms = "30:80";  // as deploy/local/cluster.sh
  // Extra meridiand flags per node, in node order (e.g. --peer-tls-*); missing entries: none.
  std::vector<std::vector<std::string>> node_args;
  std::chrono::milliseconds start_deadline = std::chrono::seconds(30);
  // Nodes (by index) that get their ports, folder and flags but are not started: a test starts
  // one later with restart_node() (a node joining a running cluster).
  std::vector<size_t> deferred_nodes;
};

// One node of the cluster. Its addresses stay the same across restarts.
struct ClusterNode {
  std::string name;  // "<region>-<i>", i from 1
  std::string region;
  std::string client_address;  // "127.0.0.1:PORT"
  std::string peer_address;    // "127.0.0.1:PORT"
  std::filesystem::path dir;   // holds data/ (the data dir) and meridiand.log
};

// The processes of one cluster. Node i of region r is node(r * nodes_per_region + i). Every node
// seeds from node 0's peer address. Traffic from region X to a node n of another region goes to
// the proxy link "X-to-<n.name>" (via --dial-via); traffic inside a region goes direct.
// Not thread-safe: drive it from the test's main thread.
class LocalCluster {
 public:
  // Picks free ports, starts the proxy and then every node, each waited on until it listens.
  // `root` must exist and outlive the cluster; every node gets a folder under it.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> start(const std::filesystem::path& root,
                                                             LocalClusterOptions options);
  ~LocalCluster();  // SIGKILLs every process still running
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  size_t size() const { return nodes_.size(); }
  const ClusterNode& node(size_t i) const { return nodes_[i].spec; }
  // Indexes of the nodes of `region`.
  std::vector<size_t> nodes_in(const std::string& region) const;
  // Indexes of the nodes whose process runs.
  std::vector<size_t> live_nodes();
  bool running(size_t i);

  // Partitions `region` from every other region in both directions (current connections are
  // reset, new ones refused), or ends that partition.
  absl::Status cut_region(const std::string& region);
  absl::Status heal_region(const std::string& region);

  // SIGKILL, and reap the process.
  absl::Status kill_node(size_t i);
  // SIGTERM; InternalError unless it exits 0 in time.
  absl::Status stop_node(size_t i);
  // Starts a stopped (or deferred, not yet started) node with its data dir, ports and flags;
  // waits until it listens.
  absl::Status restart_node(size_t i);
  // Runs a stopped (or deferred) node once on its own, without peers, so that its data dir and
  // node id exist, and returns that id; the node is stopped again. A test then knows the id a
  // node joining later will have (and where placement will put shards).
  absl::StatusOr<std::string> prepare_node(size_t i);
  // Deletes a stopped node's data dir (a disk lost): it restarts as a new, empty node.
  absl::Status wipe_node(size_t i);

  std::string node_log(size_t i) const;
  std::string proxy_log() const;
  // The last `lines` lines of the proxy's and every node's log, for failure messages.
  std::string logs_tail(size_t lines = 15) const;

 private:
  class ProxyProcess;
  struct Node {
    ClusterNode spec;
    std::vector<std::string> args;
    std::unique_ptr<DaemonProcess> process;
  };

  LocalCluster() = default;
  absl::Status start_node(size_t i);
  absl::Status control(const std::string& verb, const std::string& region);

  LocalClusterOptions options_;
  std::unique_ptr<ProxyProcess> proxy_;
  uint16_t control_port_ = 0;
  std::vector<Node> nodes_;
};

// Calls fn(client) with a fresh Client connected to `address` and returns its result; the client
// is closed before returning. A Client owns a KJ event loop and is thread-bound, and a thread may
// hold only one at a time: never call this on a thread that holds another Client.
template <typename Fn>
auto with_client(const std::string& address, Fn&& fn)
    -> decltype(fn(std::declval<client::Client&>())) {
  auto connected = client::Client::connect(address);
  if (!connected.ok()) return connected.status();
  return fn(**connected);
}

// What every live node of a converged cluster holds of one collection.
struct CollectionSnapshot {
  std::string digest;
  uint64_t point_count = 0;
};

// Waits until every live node serves `collection` with one and the same digest (and, when
// `expected_count` is set, that many points). Returns the common state, or DeadlineExceeded with
// what each node had at the last look and describe_replication(). Uses with_client (see there).
absl::StatusOr<CollectionSnapshot> wait_converged(LocalCluster& cluster,
                                                  const std::string& collection,
                                                  std::optional<uint64_t> expected_count,
                                                  std::chrono::milliseconds deadline);

// Each live node's view of the cluster from its status: members (up or down) and per collection
// and peer replica the replication metrics. For failure messages; uses with_client.
std::string describe_replication(LocalCluster& cluster);

// Polls `condition` until it returns true or `deadline` passes; returns its last answer. The
// pause between polls only bounds CPU use: the condition is what is waited on.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(50));

}  // namespace meridian::testing
