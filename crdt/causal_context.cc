// Causal context with eager compaction: the cloud only ever holds dots beyond a gap, so contexts
// built from the same dots in any order are equal (needed for canonical digests).
#include "crdt/causal_context.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace meridian::crdt {

absl::StatusOr<CausalContext> CausalContext::from_parts(VersionVector vv, std::set<Dot> cloud) {
  for (const Dot& dot : cloud) {
    if (dot.counter <= vv.get(dot.replica) + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("causal context cloud dot ", to_string(dot), " is not canonical"));
    }
  }
  CausalContext out;
  out.vv_ = std::move(vv);
  out.cloud_ = std::move(cloud);
  return out;
}

bool CausalContext::contains(const Dot& dot) const {
  return vv_.includes(dot) || cloud_.contains(dot);
}

bool CausalContext::insert(const Dot& dot) {
  if (dot.counter == 0 || contains(dot)) return false;
  if (dot.counter == vv_.get(dot.replica) + 1) {
    vv_.include(dot);
    compact(dot.replica);
  } else {
    cloud_.insert(dot);
  }
  return true;
}

bool CausalContext::merge(const CausalContext& other) {
  bool grew = false;
  for (const auto& [replica, counter] : other.vv_.entries()) {
    if (vv_.get(replica) >= counter) continue;
    grew = true;
    vv_.include(Dot{replica, counter});
    // Cloud dots now under the prefix are redundant; dots right after it extend it.
    compact(replica);
  }
  for (const Dot& dot : other.cloud_) grew |= insert(dot);
  return grew;
}

void CausalContext::compact(ReplicaId replica) {
  uint64_t top = vv_.get(replica);
  auto it = cloud_.lower_bound(Dot{replica, 0});
  while (it != cloud_.end() && it->replica == replica && it->counter <= top + 1) {
    if (it->counter == top + 1) ++top;
    it = cloud_.erase(it);
  }
  vv_.include(Dot{replica, top});
}

uint64_t CausalContext::max_counter(ReplicaId replica) const {
  uint64_t top = vv_.get(replica);
  auto it = cloud_.upper_bound(Dot{replica, UINT64_MAX});
  if (it != cloud_.begin()) {
    --it;
    if (it->replica == replica && it->counter > top) top = it->counter;
  }
  return top;
}

Dot CausalContext::next_dot(ReplicaId replica) const {
  return Dot{replica, max_counter(replica) + 1};
}

std::string CausalContext::debug_string() const {
  std::string out = absl::StrCat("vv=", vv_.debug_string(), " cloud={");
  bool first = true;
  for (const Dot& dot : cloud_) {
    absl::StrAppend(&out, first ? "" : ",", to_string(dot));
    first = false;
  }
  return out + "}";
}

}  // namespace meridian::crdt
