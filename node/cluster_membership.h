// Cluster membership: what this node knows of the other nodes (region, addresses, the collection
// replicas they serve), learned by gossip and from the seeds. A node's own description carries a
// heartbeat that grows every round, so wherever two descriptions of a node meet, the fresher
// wins; a node not heard of (directly or through others) for `suspect_after_ms` is reported
// down. Pure data; cluster_service.h drives it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meridian::node {

// One collection shard replica a node serves (`collection` is the collection's name, never a
// shard replica's local name).
struct ReplicaAdvert {
  std::string collection;
  uint64_t incarnation = 0;
  uint64_t replica_id = 0;
  uint32_t shard = 0;
  friend bool operator==(const ReplicaAdvert&, const ReplicaAdvert&) = default;
};

struct MemberInfo {
  std::string node_id;
  std::string region;
  std::string client_address;
  std::string peer_address;
  uint64_t heartbeat = 0;
  std::vector<ReplicaAdvert> replicas;
  friend bool operator==(const MemberInfo&, const MemberInfo&) = default;
};

// A peer replica of one of our collections and where to reach it.
struct PeerReplica {
  uint64_t replica_id = 0;
  std::string node_id;
  std::string region;
  std::string peer_address;
};

class Membership {
 public:
  // `self_peer_address`: where this node is reached (descriptions of another node there are of
  // an earlier life of this one).
  explicit Membership(std::string self_node_id, std::string self_peer_address = "")
      : self_(std::move(self_node_id)), self_peer_address_(std::move(self_peer_address)) {}

  // Joins descriptions heard at `now_ms` (our own is ignored). True when any changed. Per peer
  // address only the node with the highest heartbeat is kept: one wiped and replaced at that
  // address is forgotten.
  bool merge(const std::vector<MemberInfo>& members, int64_t now_ms);
  // A node that left is only suspected (see up()), not forgotten.
  std::vector<MemberInfo> members() const;
  std::optional<MemberInfo> find(const std::string& node_id) const;
  // Heard of (a fresher heartbeat) within `suspect_after_ms` of `now_ms`.
  bool up(const std::string& node_id, int64_t now_ms, int64_t suspect_after_ms) const;
  // The replicas of shard `shard` of `collection` / `incarnation` on other nodes.
  std::vector<PeerReplica> peers_of(const std::string& collection, uint32_t shard,
                                    uint64_t incarnation) const;

 private:
  struct Known {
    MemberInfo info;
    int64_t fresh_at_ms = 0;  // when its heartbeat last grew here
  };
  std::string self_;
  std::string self_peer_address_;
  std::map<std::string, Known> members_;
};

}  // namespace meridian::node
