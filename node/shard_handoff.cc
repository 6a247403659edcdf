// The hand-off decision for a shard replica its node no longer owns; see shard_handoff.h.
#include "node/shard_handoff.h"

#include "absl/strings/str_cat.h"

namespace meridian::node {

bool covers(const OwnerProgress& owner, const crdt::CausalContext& ours) {
  for (const auto& [replica, counter] : ours.vv().entries()) {
    if (owner.replica != 0 && replica == owner.replica) continue;
    if (owner.vv.get(replica) < counter) return false;
  }
  for (const crdt::Dot& dot : ours.cloud()) {
    if (owner.replica != 0 && dot.replica == owner.replica) continue;
    if (!owner.vv.includes(dot)) return false;
  }
  return true;
}

HandoffDecision decide_handoff(const crdt::CausalContext& ours, uint64_t our_last_seq,
                               const std::vector<OwnerProgress>& owners) {
  HandoffDecision out;
  out.owners_reachable = !owners.empty();
  for (const OwnerProgress& owner : owners) {
    std::string reason;
    if (!owner.up) {
      reason = "down";
    } else if (owner.replica == 0) {
      reason = "has no replica of the shard yet";
    } else if (!owner.connected) {
      reason = "not connected";
    }
    if (!reason.empty()) {
      out.owners_reachable = false;
    } else if (owner.acked_seq < our_last_seq && !covers(owner, ours)) {
      reason = absl::StrCat("behind: acknowledged our log through ", owner.acked_seq, " of ",
                            our_last_seq);
    }
    if (!reason.empty()) out.lagging.push_back({owner.node_id, std::move(reason)});
  }
  out.retire = out.owners_reachable && out.lagging.empty();
  return out;
}

}  // namespace meridian::node
