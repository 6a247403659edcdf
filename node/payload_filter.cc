// Parsing and evaluation of payload filters; see payload_filter.h.
#include "node/payload_filter.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace meridian::node {
namespace {

using Json = nlohmann::json;

absl::Status invalid(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("filter: ", std::string(where), ": ", std::string(what)));
}

absl::StatusOr<PayloadValue> match_value(const Json& j, const std::string& where) {
  if (j.is_string()) return PayloadValue(j.get<std::string>());
  if (j.is_boolean()) return PayloadValue(j.get<bool>());
  if (j.is_number_integer() && !j.is_number_unsigned()) return PayloadValue(j.get<int64_t>());
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return PayloadValue(static_cast<int64_t>(u));
    }
    return invalid(where, "integer out of the 64-bit signed range");
  }
  return invalid(where, "a match value must be a string, an integer or a boolean");
}

absl::Status parse_match(const Json& j, const std::string& where, FilterCondition& out) {
  if (!j.is_object() || j.size() != 1) {
    return invalid(where, "\"match\" must be an object with exactly one of \"value\" or \"any\"");
  }
  if (auto it = j.find("value"); it != j.end()) {
    auto v = match_value(*it, where + ".value");
    if (!v.ok()) return v.status();
    out.match_any.push_back(*std::move(v));
    return absl::OkStatus();
  }
  auto it = j.find("any");
  if (it == j.end()) {
    return invalid(where, absl::StrCat("unknown key \"", j.begin().key(), "\" in \"match\""));
  }
  if (!it->is_array()) return invalid(where + ".any", "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    auto v = match_value((*it)[i], absl::StrCat(where, ".any[", i, "]"));
    if (!v.ok()) return v.status();
    out.match_any.push_back(*std::move(v));
  }
  return absl::OkStatus();
}

absl::Status parse_range(const Json& j, const std::string& where, NumericRange& out) {
  if (!j.is_object() || j.empty()) {
    return invalid(where, "\"range\" must be an object with at least one of gt, gte, lt, lte");
  }
  for (const auto& [name, value] : j.items()) {
    std::optional<double>* bound = name == "gt"    ? &out.gt
                                   : name == "gte" ? &out.gte
                                   : name == "lt"  ? &out.lt
                                   : name == "lte" ? &out.lte
                                                   : nullptr;
    if (bound == nullptr) return invalid(where, absl::StrCat("unknown range bound \"", name, "\""));
    if (!value.is_number()) return invalid(where + "." + name, "must be a number");
    *bound = value.get<double>();
  }
  return absl::OkStatus();
}

absl::StatusOr<PayloadFilter> parse_filter(const Json& j, const std::string& where, int depth);

absl::Status parse_condition(const Json& j, const std::string& where, int depth,
                             FilterCondition& out) {
  if (!j.is_object()) return invalid(where, "a condition must be a JSON object");
  if (!j.contains("key")) {
    auto nested = parse_filter(j, where, depth + 1);
    if (!nested.ok()) return nested.status();
    out.nested.push_back(*std::move(nested));
    return absl::OkStatus();
  }
  bool has_match = false, has_range = false;
  for (const auto& [name, value] : j.items()) {
    if (name == "key") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return invalid(where + ".key", "must be a non-empty string");
      }
      out.key = value.get<std::string>();
    } else if (name == "match") {
      has_match = true;
      if (auto s = parse_match(value, where + ".match", out); !s.ok()) return s;
    } else if (name == "range") {
      has_range = true;
      out.is_range = true;
      if (auto s = parse_range(value, where + ".range", out.range); !s.ok()) return s;
    } else {
      return invalid(where, absl::StrCat("unknown key \"", name,
                                         "\" (a field condition has \"key\" and one of \"match\" "
                                         "or \"range\")"));
    }
  }
  if (has_match == has_range) {
    return invalid(where, "a field condition needs exactly one of \"match\" or \"range\"");
  }
  return absl::OkStatus();
}

absl::StatusOr<PayloadFilter> parse_filter(const Json& j, const std::string& where, int depth) {
  if (depth > kMaxFilterDepth) {
    return invalid(where, absl::StrCat("nested deeper than ", kMaxFilterDepth, " levels"));
  }
  if (!j.is_object()) return invalid(where, "a filter must be a JSON object");
  PayloadFilter out;
  for (const auto& [name, value] : j.items()) {
    std::vector<FilterCondition>* list = name == "must"       ? &out.must
                                         : name == "should"   ? &out.should
                                         : name == "must_not" ? &out.must_not
                                                              : nullptr;
    if (list == nullptr) {
      return invalid(where, absl::StrCat("unknown key \"", name,
                                         "\" (expected \"must\", \"should\" or \"must_not\")"));
    }
    std::string list_where = where + "." + name;
    if (!value.is_array()) return invalid(list_where, "must be an array of conditions");
    for (size_t i = 0; i < value.size(); ++i) {
      FilterCondition condition;
      if (auto s =
              parse_condition(value[i], absl::StrCat(list_where, "[", i, "]"), depth, condition);
          !s.ok()) {
        return s;
      }
      list->push_back(std::move(condition));
    }
  }
  return out;
}

bool in_range(double v, const NumericRange& r) {
  return (!r.gt || v > *r.gt) && (!r.gte || v >= *r.gte) && (!r.lt || v < *r.lt) &&
         (!r.lte || v <= *r.lte);
}

bool condition_holds(const FilterCondition& c, FieldValuesOf values_of) {
  if (!c.nested.empty()) return filter_matches(c.nested.front(), values_of);
  for (const PayloadValue& v : values_of(c.key)) {
    if (c.is_range) {
      if (const int64_t* i = std::get_if<int64_t>(&v);
          i && in_range(static_cast<double>(*i), c.range)) {
        return true;
      }
      if (const double* d = std::get_if<double>(&v); d && in_range(*d, c.range)) return true;
      continue;
    }
    for (const PayloadValue& want : c.match_any) {
      if (v == want) return true;  // variant equality: same alternative and equal value
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<PayloadFilter> parse_payload_filter(std::string_view json) {
  if (json.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter: ", json.size(), " bytes exceeds the limit of ", kMaxFilterBytes));
  }
  Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("filter: not valid JSON");
  return parse_filter(j, "filter", 0);
}

bool filter_matches(const PayloadFilter& filter, FieldValuesOf values_of) {
  for (const auto& c : filter.must) {
    if (!condition_holds(c, values_of)) return false;
  }
  for (const auto& c : filter.must_not) {
    if (condition_holds(c, values_of)) return false;
  }
  if (filter.should.empty()) return true;
  for (const auto& c : filter.should) {
    if (condition_holds(c, values_of)) return true;
  }
  return false;
}

}  // namespace meridian::node
