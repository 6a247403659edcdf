// Checks of client input that every write and search path applies before touching storage:
// vector dimension and finiteness, payload JSON, batch and k limits. Errors are
// InvalidArgument with a message naming what was wrong and where.
#pragma once

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "schema/types.h"

namespace meridian::node {

// OK when `vector` has `config.dim` finite floats (and is non-zero for cosine).
// `where` prefixes the message, e.g. "point 3 (id 17)".
absl::Status validate_vector(const CollectionConfig& config, std::span<const float> vector,
                             const std::string& where);

// Returns the payload in normalised JSON form ("" stays ""). InvalidArgument unless it is
// empty or a JSON object of at most kMaxPayloadBytes.
absl::StatusOr<std::string> normalize_payload(const std::string& payload_json,
                                              const std::string& where);

absl::Status validate_batch_size(size_t n, const char* what);
absl::Status validate_top_k(uint32_t k);

}  // namespace meridian::node
