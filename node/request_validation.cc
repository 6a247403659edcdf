// Client input checks; see request_validation.h.
#include "node/request_validation.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace meridian::node {

absl::Status validate_vector(const CollectionConfig& config, std::span<const float> vector,
                             const std::string& where) {
  if (vector.size() != config.dim) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": vector has dimension ", vector.size(),
                                                   ", collection '", config.name, "' expects ",
                                                   config.dim));
  }
  bool all_zero = true;
  for (size_t i = 0; i < vector.size(); ++i) {
    if (!std::isfinite(vector[i])) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": vector component ", i, " is ",
                                                     std::isnan(vector[i]) ? "NaN" : "infinite"));
    }
    all_zero = all_zero && vector[i] == 0.0f;
  }
  if (all_zero && config.metric == Metric::kCosine) {
    return absl::InvalidArgumentError(absl::StrCat(where,
                                                   ": a zero vector has no direction (collection '",
                                                   config.name, "' uses the cosine metric)"));
  }
  return absl::OkStatus();
}

namespace {

constexpr int kMaxPayloadNesting = 64;

// Deepest bracket nesting outside strings. The JSON library recurses when it prints, so very
// deep documents are refused up front instead of exhausting the stack.
int max_nesting(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

absl::StatusOr<std::string> normalize_payload(const std::string& payload_json,
                                              const std::string& where) {
  if (payload_json.empty()) return std::string();
  if (payload_json.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": payload of ", payload_json.size(),
                                                   " bytes exceeds the limit of ",
                                                   kMaxPayloadBytes));
  }
  if (max_nesting(payload_json) > kMaxPayloadNesting) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": payload nests deeper than ", kMaxPayloadNesting, " levels"));
  }
  nlohmann::json parsed = nlohmann::json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": payload is not valid JSON"));
  }
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": payload must be a JSON object"));
  }
  // Invalid UTF-8 inside strings makes dump() throw; replace it rather than fail late.
  return parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status validate_batch_size(size_t n, const char* what) {
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat("empty batch: no ", what, " given"));
  if (n > kMaxBatchPoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", n, " ", what, " exceeds the limit of ", kMaxBatchPoints));
  }
  return absl::OkStatus();
}

absl::Status validate_top_k(uint32_t k) {
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
  if (k > kMaxTopK) {
    return absl::InvalidArgumentError(absl::StrCat("k = ", k, " exceeds the limit of ", kMaxTopK));
  }
  return absl::OkStatus();
}

}  // namespace meridian::node
