// HnswIndex::save / load: the versioned byte encoding of a whole HNSW index and its validation.
//
// Encoding (all integers little-endian; n = node count, V = vector part of a record: 4 * dim
// bytes in version 1, dim rounded up to a multiple of 4 in version 2; R = 4 * (1 + 2m) + V).
// Version 1 encodes Quantization::kNone, version 2 Quantization::kSq8:
//   offset  bytes  field
//        0      8  magic "MRDHNSW\0"
//        8      4  format version (1 or 2)
//       12      4  dim
//       16      4  metric: 0 l2, 1 inner product, 2 cosine
//       20      4  m
//       24      4  ef_construction
//       28      4  ef_search
//       32      8  seed
//       40      8  n (live and deleted nodes)
//       48      4  entry node (0xFFFFFFFF when n = 0)
//       52      4  top level, int32 (-1 when n = 0)
//   version 2 only:
//       56      4  quantization (1 = sq8)
//       60      4  refine_factor
//       64      4  q = quantiser dimension: dim, or 0 while untrained (only when n = 0)
//       68    8 q  per-dimension minima (q f32), then scales (q f32)
//   then:
//            8 n   labels
//              n   levels (0..15)
//              n   deletion marks (0 live, 1 deleted)
//            R n   level-0 records: u32 link count, 2m u32 links (unused slots 0), the vector
//                  part: dim f32 (unit length under cosine) in version 1, dim SQ8 codes and
//                  zero padding in version 2
//   version 2 only:
//        4 dim n   re-rank store: the float32 vectors (unit length under cosine)
//   then:
//          4 U     upper-level lists in node order, for levels 1..level of each node:
//                  u32 count, m u32 links; U = (m + 1) * sum of levels
//   end - 8     8  checksum: internal::format_checksum of every byte before it
#include <bit>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "index/hnsw_index.h"
#include "index/internal/hnsw_format.h"

namespace meridian::index {

static_assert(std::endian::native == std::endian::little,
              "the HNSW encoding is written with host byte order");

namespace {

using internal::ByteReader;
using internal::put;
using internal::put_array;

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("hnsw index encoding: ", what));
}

}  // namespace

absl::Status HnswIndex::save(std::string* out) const {
  const size_t start = out->size();
  out->append(internal::kHnswMagic);
  put<uint32_t>(*out, quantized() ? internal::kHnswSq8FormatVersion : internal::kHnswFormatVersion);
  put<uint32_t>(*out, dim_);
  put<uint32_t>(*out, static_cast<uint32_t>(metric_));
  put<uint32_t>(*out, params_.m);
  put<uint32_t>(*out, params_.ef_construction);
  put<uint32_t>(*out, params_.ef_search);
  put<uint64_t>(*out, params_.seed);
  put<uint64_t>(*out, node_count_);
  put<uint32_t>(*out, entry_);
  put<int32_t>(*out, max_level_);
  if (quantized()) {
    put<uint32_t>(*out, static_cast<uint32_t>(params_.quantization));
    put<uint32_t>(*out, params_.refine_factor);
    put<uint32_t>(*out, quantizer_.dim());
    put_array(*out, quantizer_.min().data(), quantizer_.dim());
    put_array(*out, quantizer_.scale().data(), quantizer_.dim());
  }
  const size_t n = node_count_;
  put_array(*out, labels_.data(), n);
  put_array(*out, levels_.data(), n);
  put_array(*out, deleted_.data(), n);
  put_array(*out, level0_.get(), n * record_bytes_);
  if (quantized()) put_array(*out, full_.get(), n * dim_ * sizeof(float));
  put_array(*out, upper_links_.data(), upper_links_.size());
  put<uint64_t>(*out, internal::format_checksum(std::string_view(*out).substr(start)));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::load(std::string_view bytes) {
  uint32_t version = 0;
  absl::StatusOr<ByteReader> frame = internal::open_frame(
      bytes, internal::kHnswMagic, internal::kHnswSq8FormatVersion, "hnsw index", &version);
  if (!frame.ok()) return frame.status();
  ByteReader& in = *frame;
  uint32_t dim = 0, metric_code = 0, entry = 0;
  int32_t max_level = 0;
  uint64_t n = 0;
  HnswParams params;
  in.get(dim);
  in.get(metric_code);
  in.get(params.m);
  in.get(params.ef_construction);
  in.get(params.ef_search);
  in.get(params.seed);
  in.get(n);
  in.get(entry);
  bool complete = in.get(max_level);
  uint32_t quantization = 0, quantizer_dim = 0;
  if (version == internal::kHnswSq8FormatVersion) {
    in.get(quantization);
    in.get(params.refine_factor);
    complete = in.get(quantizer_dim);  // Reads fail from the first short one on.
    if (complete && quantization != static_cast<uint32_t>(Quantization::kSq8)) {
      return corrupt("version 2 encodes sq8 indexes only");
    }
    params.quantization = Quantization::kSq8;
  }
  if (!complete) return corrupt("truncated header");
  if (dim < 1 || dim > kMaxDim) return corrupt(absl::StrCat("dimension ", dim, " out of range"));
  if (metric_code > static_cast<uint32_t>(Metric::kCosine)) return corrupt("unknown metric");
  if (absl::Status st = params.validate(); !st.ok()) return corrupt(std::string(st.message()));
  auto index = std::make_unique<HnswIndex>(dim, static_cast<Metric>(metric_code), params);
  HnswIndex& x = *index;
  if (x.quantized()) {
    if (quantizer_dim != 0 && quantizer_dim != dim) return corrupt("quantiser dimension mismatch");
    if (quantizer_dim == 0 && n != 0) return corrupt("nodes without a trained quantiser");
    if (quantizer_dim != 0) {
      if (in.remaining() / (2 * sizeof(float)) < dim) return corrupt("truncated quantiser");
      std::vector<float> lo(dim), scale(dim);
      in.get_bytes(lo.data(), dim * sizeof(float));
      in.get_bytes(scale.data(), dim * sizeof(float));
      absl::StatusOr<ScalarQuantizer> sq = ScalarQuantizer::from_ranges(lo, scale);
      if (!sq.ok()) return corrupt(std::string(sq.status().message()));
      x.quantizer_ = *std::move(sq);
    }
  }

  // Size the fixed-width sections before allocating anything for them.
  const size_t store_bytes = x.quantized() ? size_t{dim} * sizeof(float) : 0;
  const size_t per_node = sizeof(uint64_t) + 2 + x.record_bytes_ + store_bytes;
  if (n > kMaxNodes || n > in.remaining() / per_node) return corrupt("node count exceeds data");
  x.reserve_nodes(n);
  x.labels_.resize(n);
  x.levels_.resize(n);
  x.deleted_.resize(n);
  in.get_bytes(x.labels_.data(), n * sizeof(uint64_t));
  in.get_bytes(x.levels_.data(), n);
  in.get_bytes(x.deleted_.data(), n);
  in.get_bytes(x.level0_.get(), n * x.record_bytes_);
  if (x.quantized()) in.get_bytes(x.full_.get(), n * store_bytes);
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
