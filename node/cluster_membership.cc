// Membership's merge rule: per node, the description with the higher heartbeat wins.
#include "node/cluster_membership.h"

namespace meridian::node {

bool Membership::merge(const std::vector<MemberInfo>& members, int64_t now_ms) {
  bool changed = false;
  for (const auto& m : members) {
    if (m.node_id.empty() || m.node_id == self_) continue;
    // One node per peer address, the freshest: a node wiped and restarted at an address has a
    // new identity (and a wall-clock heartbeat above its old life's), and the old identity is
    // gone for good. Our own address can only be an old life of ours.
    if (!m.peer_address.empty() && m.peer_address == self_peer_address_) continue;
    bool superseded = false;
    for (const auto& [id, known] : members_) {
      superseded = superseded || (id != m.node_id && !m.peer_address.empty() &&
                                  known.info.peer_address == m.peer_address &&
                                  known.info.heartbeat >= m.heartbeat);
    }
    if (superseded) continue;
    auto [it, inserted] = members_.try_emplace(m.node_id);
    if (!inserted && m.heartbeat <= it->second.info.heartbeat) continue;
    changed = changed || inserted || it->second.info.replicas != m.replicas ||
              it->second.info.peer_address != m.peer_address;
    it->second.info = m;
    it->second.fresh_at_ms = now_ms;
    for (auto other = members_.begin(); other != members_.end();) {
      if (other->first != m.node_id && !m.peer_address.empty() &&
          other->second.info.peer_address == m.peer_address) {
        other = members_.erase(other);
        changed = true;
      } else {
        ++other;
      }
    }
  }
  return changed;
}

std::vector<MemberInfo> Membership::members() const {
  std::vector<MemberInfo> out;
  for (const auto& [id, known] : members_) out.push_back(known.info);
  return out;
}

std::optional<MemberInfo> Membership::find(const std::string& node_id) const {
  auto it = members_.find(node_id);
  if (it == members_.end()) return std::nullopt;
  return it->second.info;
}

bool Membership::up(const std::string& node_id, int64_t now_ms, int64_t suspect_after_ms) const {
  auto it = members_.find(node_id);
  return it != members_.end() && now_ms - it->second.fresh_at_ms <= suspect_after_ms;
}

std::vector<PeerReplica> Membership::peers_of(const std::string& collection, uint32_t shard,
                                              uint64_t incarnation) const {
  std::vector<PeerReplica> out;
  for (const auto& [id, known] : members_) {
    for (const auto& r : known.info.replicas) {
      if (r.collection == collection && r.shard == shard && r.incarnation == incarnation &&
          r.replica_id != 0) {
        out.push_back({r.replica_id, id, known.info.region, known.info.peer_address});
      }
    }
  }
  return out;
}

}  // namespace meridian::node
