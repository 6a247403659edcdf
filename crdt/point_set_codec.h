// Canonical byte encoding of point-set states and deltas (and of causal tokens), and the canonical
// digest of a state. Formats are described in docs/crdt.md ("Encodings").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crdt/point_set.h"
#include "crdt/version_vector.h"

namespace meridian::crdt {

// Format version written by this code; decoders accept exactly this version.
inline constexpr uint8_t kCrdtFormatVersion = 1;

// Deterministic: equal states give equal bytes, whatever order their deltas were joined in.
// Starts with magic "MCRD", the version and a kind byte; ends with a 64-bit BLAKE2b checksum.
std::string encode_point_set(const PointSet& set);

// Decodes what encode_point_set wrote. Never crashes on bad input: DataLoss for truncated, corrupt
// or non-canonical input (checksum, ordering, dots outside the context, duplicate dots),
// Unimplemented for another format version. decode(encode(x)) encodes to the same bytes.
absl::StatusOr<PointSet> decode_point_set(std::string_view bytes);

// A causal token (version vector) in the same framing, kind 2.
std::string encode_version_vector(const VersionVector& vv);
absl::StatusOr<VersionVector> decode_version_vector(std::string_view bytes);

// One id's record of a state without the context (a "per-id slice"), kind 3: what storage keeps
// per point so that a write rewrites only the ids it touched. Deterministic like the above.
std::string encode_point_slice(const PointId& id, const PointRecord& record);
// DataLoss for truncated, corrupt or non-canonical input (an empty record, unordered fields or
// versions, a duplicate dot), Unimplemented for another format version.
absl::StatusOr<std::pair<PointId, PointRecord>> decode_point_slice(std::string_view bytes);

// A causal context alone (version vector + dot cloud), kind 4. The decoder rejects a context
// that is not in canonical form (DataLoss).
std::string encode_causal_context(const CausalContext& context);
absl::StatusOr<CausalContext> decode_causal_context(std::string_view bytes);

// Rebuilds a state from its per-id slices and its context (what a restart loads). The result
// equals the state the slices were cut from. DataLoss when two slices share an id, a dot tags two
// versions, or a version's dot is outside `context`.
absl::StatusOr<PointSet> assemble_point_set(CausalContext context,
                                            std::vector<std::pair<PointId, PointRecord>> slices);

// BLAKE2b-256 of the canonical encoding: equal on replicas with equal state.
using StateDigest = std::array<uint8_t, 32>;
StateDigest digest(const PointSet& set);
std::string to_hex(const StateDigest& digest);

}  // namespace meridian::crdt
