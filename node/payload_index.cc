// In-memory filterable payload values by label; see payload_index.h.
#include "node/payload_index.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

#include "nlohmann/json.hpp"

namespace meridian::node {
namespace {

std::optional<PayloadValue> scalar_of(const nlohmann::json& j) {
  if (j.is_string()) return PayloadValue(j.get<std::string>());
  if (j.is_boolean()) return PayloadValue(j.get<bool>());
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return PayloadValue(static_cast<int64_t>(u));
    }
    return PayloadValue(static_cast<double>(u));
  }
  if (j.is_number_integer()) return PayloadValue(j.get<int64_t>());
  if (j.is_number_float()) return PayloadValue(j.get<double>());
  return std::nullopt;
}

}  // namespace

void PayloadIndex::put(uint64_t label, const std::string& payload_json) {
  points_.erase(label);
  if (payload_json.empty()) return;
  nlohmann::json j = nlohmann::json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  std::vector<std::pair<uint32_t, PayloadValue>> entries;
  for (const auto& [name, value] : j.items()) {
    auto add = [&](const nlohmann::json& element) {
      std::optional<PayloadValue> v = scalar_of(element);
      if (!v) return;
      auto [it, inserted] = field_ids_.try_emplace(name, static_cast<uint32_t>(field_ids_.size()));
      entries.emplace_back(it->second, *std::move(v));
    };
    if (value.is_array()) {
      for (const auto& element : value) add(element);
    } else {
      add(value);
    }
  }
  if (entries.empty()) return;
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  PointValues point;
  point.fields.reserve(entries.size());
  point.values.reserve(entries.size());
  for (auto& [field, value] : entries) {
    point.fields.push_back(field);
    point.values.push_back(std::move(value));
  }
  points_.emplace(label, std::move(point));
}

void PayloadIndex::erase(uint64_t label) { points_.erase(label); }

std::span<const PayloadValue> PayloadIndex::values_of(const PointValues& point,
                                                      std::string_view key) const {
  auto id = field_ids_.find(absl::string_view(key.data(), key.size()));
  if (id == field_ids_.end()) return {};
  auto [first, last] = std::equal_range(point.fields.begin(), point.fields.end(), id->second);
  return std::span<const PayloadValue>(point.values)
      .subspan(static_cast<size_t>(first - point.fields.begin()),
               static_cast<size_t>(last - first));
}

bool PayloadIndex::matches(uint64_t label, const PayloadFilter& filter) const {
  static const PointValues kNoValues;
  auto it = points_.find(label);
  const PointValues& point = it == points_.end() ? kNoValues : it->second;
  return filter_matches(filter, [&](std::string_view key) { return values_of(point, key); });
}

std::vector<uint64_t> PayloadIndex::matching(std::span<const uint64_t> labels,
                                             const PayloadFilter& filter) const {
  std::vector<uint64_t> out;
  for (uint64_t label : labels) {
    if (matches(label, filter)) out.push_back(label);
  }
  return out;
}

}  // namespace meridian::node
