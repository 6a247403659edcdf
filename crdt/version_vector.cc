// Version vector operations. Entries at zero are never stored, so equality is structural.
#include "crdt/version_vector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace meridian::crdt {

std::string to_string(const Dot& dot) {
  return absl::StrCat("(", dot.replica, ",", dot.counter, ")");
}

uint64_t VersionVector::get(ReplicaId replica) const {
  auto it = entries_.find(replica);
  return it == entries_.end() ? 0 : it->second;
}

bool VersionVector::includes(const Dot& dot) const { return dot.counter <= get(dot.replica); }

void VersionVector::include(const Dot& dot) {
  if (dot.counter == 0) return;  // keeps the "no zero entries" invariant
  uint64_t& counter = entries_[dot.replica];
  counter = std::max(counter, dot.counter);
}

void VersionVector::merge(const VersionVector& other) {
  for (const auto& [replica, counter] : other.entries_) include(Dot{replica, counter});
}

bool VersionVector::dominates(const VersionVector& other) const {
  for (const auto& [replica, counter] : other.entries_) {
    if (get(replica) < counter) return false;
  }
  return true;
}

bool VersionVector::concurrent(const VersionVector& other) const {
  return !dominates(other) && !other.dominates(*this);
}

std::vector<DotRange> VersionVector::difference(const VersionVector& peer) const {
  std::vector<DotRange> out;
  for (const auto& [replica, counter] : entries_) {
    const uint64_t theirs = peer.get(replica);
    if (theirs < counter) out.push_back(DotRange{replica, theirs + 1, counter});
  }
  return out;
}

std::string VersionVector::debug_string() const {
  std::string out = "{";
  for (const auto& [replica, counter] : entries_) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", replica, ":", counter);
  }
  return out + "}";
}

VersionVector pointwise_min(const VersionVector& a, const VersionVector& b) {
  VersionVector out;
  for (const auto& [replica, counter] : a.entries()) {
    out.include(Dot{replica, std::min(counter, b.get(replica))});
  }
  return out;
}

}  // namespace meridian::crdt
