// Encoding of the `causal` database's record; see causal_record.h and docs/formats.md.
#include "storage/causal_record.h"

#include "absl/strings/str_cat.h"

namespace meridian::storage {
namespace {

constexpr uint8_t kCausalRecordVersion = 1;
constexpr size_t kFixedBytes = 1 + 8 + 8 + 8 + 4;
constexpr uint8_t kJoinedThroughVersion = 1;
constexpr size_t kJoinedThroughBytes = 1 + 8;

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t get_le(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

}  // namespace

std::string encode_causal_record(const CausalRecord& record) {
  std::string out;
  out.reserve(kFixedBytes + record.context.size());
  out.push_back(static_cast<char>(kCausalRecordVersion));
  put_le(out, record.replica_id, 8);
  put_le(out, record.hlc_bound_ms, 8);
  put_le(out, record.next_log_seq, 8);
  put_le(out, record.context.size(), 4);
  out.append(record.context);
  return out;
}

absl::StatusOr<CausalRecord> decode_causal_record(std::string_view value) {
  if (value.size() < kFixedBytes) return absl::DataLossError("causal record: truncated");
  if (static_cast<uint8_t>(value[0]) != kCausalRecordVersion) {
    return absl::UnimplementedError(
        absl::StrCat("causal record: version ", static_cast<uint8_t>(value[0])));
  }
  CausalRecord record;
  record.replica_id = get_le(value, 1, 8);
  record.hlc_bound_ms = get_le(value, 9, 8);
  record.next_log_seq = get_le(value, 17, 8);
  const uint64_t length = get_le(value, 25, 4);
  if (length != value.size() - kFixedBytes) {
    return absl::DataLossError("causal record: context length does not match");
  }
  if (record.replica_id == 0 || record.next_log_seq == 0) {
    return absl::DataLossError("causal record: zero replica id or log seq");
  }
  record.context = std::string(value.substr(kFixedBytes));
  return record;
}

std::string encode_joined_through(uint64_t through_seq) {
  std::string out;
  out.reserve(kJoinedThroughBytes);
  out.push_back(static_cast<char>(kJoinedThroughVersion));
  put_le(out, through_seq, 8);
  return out;
}

absl::StatusOr<uint64_t> decode_joined_through(std::string_view value) {
  if (value.empty()) return absl::DataLossError("joined-through record: empty");
  if (static_cast<uint8_t>(value[0]) != kJoinedThroughVersion) {
    return absl::UnimplementedError(
        absl::StrCat("joined-through record: version ", static_cast<uint8_t>(value[0])));
  }
  if (value.size() != kJoinedThroughBytes) {
    return absl::DataLossError("joined-through record: wrong length");
  }
  return get_le(value, 1, 8);
}

}  // namespace meridian::storage
