// HnswIndex::save / load: the versioned byte encoding of a whole HNSW index and its validation.
//
// Encoding, version 1 (all integers little-endian; n = node count, R = 4 * (1 + 2m + dim)):
//   offset  bytes  field
//        0      8  magic "MRDHNSW\0"
//        8      4  format version (1)
//       12      4  dim
//       16      4  metric: 0 l2, 1 inner product, 2 cosine
//       20      4  m
//       24      4  ef_construction
//       28      4  ef_search
//       32      8  seed
//       40      8  n (live and deleted nodes)
//       48      4  entry node (0xFFFFFFFF when n = 0)
//       52      4  top level, int32 (-1 when n = 0)
//       56    8 n  labels
//              n   levels (0..15)
//              n   deletion marks (0 live, 1 deleted)
//            R n   level-0 records: u32 link count, 2m u32 links (unused slots 0), dim f32
//                  (unit length under cosine)
//          4 U     upper-level lists in node order, for levels 1..level of each node:
//                  u32 count, m u32 links; U = (m + 1) * sum of levels
//   end - 8     8  checksum: internal::hnsw_checksum of every byte before it
#include <bit>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "index/hnsw_index.h"
#include "index/internal/hnsw_format.h"

namespace meridian::index {

static_assert(std::endian::native == std::endian::little,
              "the HNSW encoding is written with host byte order");

namespace internal {

uint64_t hnsw_checksum(std::string_view bytes) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * kPrime;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<uint8_t>(bytes[i])) * kPrime;
  return h ^ (h >> 29);
}

}  // namespace internal

namespace {

template <typename T>
void put(std::string& out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out.append(buf, sizeof(T));
}

// Bounds-checked sequential reader; every read fails once the input is exhausted.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T& value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  // Copies `n` bytes into `dst`.
  bool get_bytes(void* dst, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    if (n > 0) std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("hnsw index encoding: ", what));
}

}  // namespace

absl::Status HnswIndex::save(std::string* out) const {
  const size_t start = out->size();
  out->append(internal::kHnswMagic);
  put<uint32_t>(*out, internal::kHnswFormatVersion);
  put<uint32_t>(*out, dim_);
  put<uint32_t>(*out, static_cast<uint32_t>(metric_));
  put<uint32_t>(*out, params_.m);
  put<uint32_t>(*out, params_.ef_construction);
  put<uint32_t>(*out, params_.ef_search);
  put<uint64_t>(*out, params_.seed);
  put<uint64_t>(*out, node_count_);
  put<uint32_t>(*out, entry_);
  put<int32_t>(*out, max_level_);
  const size_t n = node_count_;
  out->append(reinterpret_cast<const char*>(labels_.data()), n * sizeof(uint64_t));
  out->append(reinterpret_cast<const char*>(levels_.data()), n);
  out->append(reinterpret_cast<const char*>(deleted_.data()), n);
  out->append(level0_.get(), n * record_bytes_);
  out->append(reinterpret_cast<const char*>(upper_links_.data()),
              upper_links_.size() * sizeof(uint32_t));
  put<uint64_t>(*out, internal::hnsw_checksum(std::string_view(*out).substr(start)));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::load(std::string_view bytes) {
  if (bytes.size() < internal::kHnswHeaderBytes + internal::kHnswChecksumBytes) {
    return corrupt("shorter than its header");
  }
  if (bytes.substr(0, internal::kHnswMagic.size()) != internal::kHnswMagic) {
    return corrupt("bad magic");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - internal::kHnswChecksumBytes);
  uint64_t stored_checksum;
  std::memcpy(&stored_checksum, bytes.data() + body.size(), sizeof(stored_checksum));
  Reader in(body.substr(internal::kHnswMagic.size()));
  uint32_t version, dim, metric_code, entry;
  int32_t max_level;
  uint64_t n;
  HnswParams params;
  in.get(version);
  if (version != internal::kHnswFormatVersion) {
    return corrupt(absl::StrCat("unsupported format version ", version));
  }
  if (internal::hnsw_checksum(body) != stored_checksum) return corrupt("checksum mismatch");
  in.get(dim);
  in.get(metric_code);
  in.get(params.m);
  in.get(params.ef_construction);
  in.get(params.ef_search);
  in.get(params.seed);
  in.get(n);
  in.get(entry);
  if (!in.get(max_level)) return corrupt("truncated header");
  if (dim < 1 || dim > kMaxDim) return corrupt(absl::StrCat("dimension ", dim, " out of range"));
  if (metric_code > static_cast<uint32_t>(Metric::kCosine)) return corrupt("unknown metric");
  if (absl::Status st = params.validate(); !st.ok()) return corrupt(std::string(st.message()));
  auto index = std::make_unique<HnswIndex>(dim, static_cast<Metric>(metric_code), params);
  HnswIndex& x = *index;

  // Size the fixed-width sections before allocating anything for them.
  const size_t per_node = sizeof(uint64_t) + 2 + x.record_bytes_;
  if (n > kMaxNodes || n > in.remaining() / per_node) return corrupt("node count exceeds data");
  x.reserve_nodes(n);
  x.labels_.resize(n);
  x.levels_.resize(n);
  x.deleted_.resize(n);
  in.get_bytes(x.labels_.data(), n * sizeof(uint64_t));
  in.get_bytes(x.levels_.data(), n);
  in.get_bytes(x.deleted_.data(), n);
  in.get_bytes(x.level0_.get(), n * x.record_bytes_);
  x.node_count_ = n;
  uint64_t upper_words = 0;
  int top = -1;
  for (size_t node = 0; node < n; ++node) {
    if (x.levels_[node] > kMaxLevel) return corrupt(absl::StrCat("node ", node, ": bad level"));
    if (x.deleted_[node] > 1) return corrupt(absl::StrCat("node ", node, ": bad deletion mark"));
    x.upper_offset_.push_back(static_cast<uint32_t>(upper_words));
    upper_words += uint64_t{x.levels_[node]} * (1 + x.max_links_);
    if (upper_words > kNoNode) return corrupt("upper-level lists too large");
    top = std::max(top, int{x.levels_[node]});
  }
  if (in.remaining() != upper_words * sizeof(uint32_t)) {
    return corrupt("upper-level section size does not match the node levels");
  }
  x.upper_links_.resize(upper_words);
  in.get_bytes(x.upper_links_.data(), upper_words * sizeof(uint32_t));

  // Entry point on the top level, so that every search starts where the greedy descent expects.
  if (n == 0 ? (entry != kNoNode || max_level != -1)
             : (entry >= n || max_level != top || x.levels_[entry] != max_level)) {
    return corrupt("entry point or top level inconsistent with the nodes");
  }
  x.entry_ = entry;
  x.max_level_ = max_level;
  // Links: counts within capacity, ids in range, and a node linked at level l must exist there
  // (the traversal reads its level-l list).
  for (size_t node = 0; node < n; ++node) {
    const auto id = static_cast<uint32_t>(node);
    for (int level = 0; level <= x.levels_[node]; ++level) {
      const uint32_t* list = x.links(id, level);
      if (list[0] > (level == 0 ? x.max_links0_ : x.max_links_)) {
        return corrupt(absl::StrCat("node ", node, " level ", level, ": too many links"));
      }
      for (uint32_t i = 1; i <= list[0]; ++i) {
        if (list[i] >= n || x.levels_[list[i]] < level) {
          return corrupt(absl::StrCat("node ", node, " level ", level, ": bad link ", list[i]));
        }
      }
    }
    const float* v = x.vector_of(id);
    for (uint32_t i = 0; i < dim; ++i) {
      if (!std::isfinite(v[i])) return corrupt(absl::StrCat("node ", node, ": non-finite vector"));
    }
    if (norm(std::span<const float>(v, dim)) > kMaxVectorNorm) {
      return corrupt(absl::StrCat("node ", node, ": vector norm out of range"));
    }
    if (x.deleted_[node] == 0 && !x.node_of_label_.try_emplace(x.labels_[node], id).second) {
      return corrupt(absl::StrCat("label ", x.labels_[node], " live on two nodes"));
    }
  }
  return index;
}

}  // namespace meridian::index
