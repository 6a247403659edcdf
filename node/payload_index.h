// The filterable payload values of a collection's points, kept in memory by label so that a
// filtered search never opens a sealed record to evaluate its filter.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "node/payload_filter.h"

namespace meridian::node {

// Keeps, per label, the scalar values of each top-level payload field (strings, integers,
// doubles, booleans, and the scalar elements of arrays; objects and nulls are not filterable and
// not kept). Field names are interned once per collection. Thread safety: const methods
// (matches, matching) may run concurrently with each other (searches under the node's reader
// lock); put and erase must not overlap with any call (the node takes its lock exclusively).
class PayloadIndex {
 public:
  // Replaces the values kept for `label` with those of `payload_json` (a JSON object or "");
  // text that is not a JSON object keeps nothing for the label.
  void put(uint64_t label, const std::string& payload_json);
  void erase(uint64_t label);

  // Whether the point under `label` satisfies `filter` (a label with no payload has no fields).
  bool matches(uint64_t label, const PayloadFilter& filter) const;

  // The labels of `labels` whose points satisfy `filter`, in the given order.
  std::vector<uint64_t> matching(std::span<const uint64_t> labels,
                                 const PayloadFilter& filter) const;

 private:
  // One point's values, sorted by field id; a field's values are contiguous.
  struct PointValues {
    std::vector<uint32_t> fields;
    std::vector<PayloadValue> values;
  };

  std::span<const PayloadValue> values_of(const PointValues& point, std::string_view key) const;

  absl::flat_hash_map<std::string, uint32_t> field_ids_;
  absl::flat_hash_map<uint64_t, PointValues> points_;
};

}  // namespace meridian::node
