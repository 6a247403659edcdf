// Payload filters of filtered search: a parsed, Qdrant-like boolean filter over a point's
// top-level payload fields, and its evaluation against the filterable values of one point.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace meridian::node {

// One filterable payload value: a keyword, an integer, a floating-point number or a boolean.
// Integers keep their exact value; numbers that are not integers are doubles.
using PayloadValue = std::variant<bool, int64_t, double, std::string>;

// A numeric range; unset bounds are open. A value matches when it satisfies every set bound.
struct NumericRange {
  std::optional<double> gt, gte, lt, lte;
};

struct PayloadFilter;

// One condition of a filter: a field condition on `key` (a match when !is_range: the field has
// one of `match_any`; a range when is_range: the field has a number inside `range`), or, when
// `nested` holds its single element, a nested filter (then `key` is empty).
struct FilterCondition {
  std::string key;                      // top-level payload field; empty for a nested filter
  bool is_range = false;                // range condition (else a match condition)
  std::vector<PayloadValue> match_any;  // match: keywords, integers or booleans (no doubles)
  NumericRange range;                   // range condition bounds
  std::vector<PayloadFilter> nested;    // a nested filter (size 1) instead of a field condition
};

// must: every condition holds; should: at least one holds (when non-empty); must_not: none holds.
// The empty filter matches every point.
struct PayloadFilter {
  std::vector<FilterCondition> must;
  std::vector<FilterCondition> should;
  std::vector<FilterCondition> must_not;
};

// Largest accepted filter text and nesting depth (bounds parse time and recursion).
inline constexpr size_t kMaxFilterBytes = 64 * 1024;
inline constexpr int kMaxFilterDepth = 8;

// Parses a filter from JSON text:
//   filter    := {"must": [cond...], "should": [cond...], "must_not": [cond...]}  (each optional)
//   cond      := {"key": FIELD, "match": {"value": V}} | {"key": FIELD, "match": {"any": [V...]}}
//              | {"key": FIELD, "range": {"gt"|"gte"|"lt"|"lte": NUMBER, ...}} | filter
//   V         := string (keyword) | integer | boolean
// InvalidArgument (naming the offending part) for malformed JSON, unknown keys, wrong types,
// an empty range, text over kMaxFilterBytes or nesting deeper than kMaxFilterDepth.
absl::StatusOr<PayloadFilter> parse_payload_filter(std::string_view json);

// The values of one point's field by name (several for an array field); empty when absent.
using FieldValuesOf = absl::FunctionRef<std::span<const PayloadValue>(std::string_view key)>;

// Whether a point whose fields `values_of` gives satisfies `filter`. A match condition holds when
// some value of the field equals some listed value of the same type (no cross-type equality); a
// range condition holds when some numeric (integer or double) value is inside the range. A missing
// field satisfies no field condition.
bool filter_matches(const PayloadFilter& filter, FieldValuesOf values_of);

}  // namespace meridian::node
