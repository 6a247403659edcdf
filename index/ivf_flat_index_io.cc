// IvfFlatIndex::save / load: the versioned byte encoding of a whole IVF-Flat index (float32 or
// SQ8 lists) and its validation.
//
// Encoding, version 1 (all integers little-endian; L = trained list count, q = 1 under sq8
// else 0):
//   offset  bytes  field
//        0      8  magic "MRDIVFF\0"
//        8      4  format version (1)
//       12      4  dim
//       16      4  metric: 0 l2, 1 inner product, 2 cosine
//       20      4  quantization: 0 none, 1 sq8
//       24      4  params.nlist (0 = automatic)
//       28      4  params.nprobe
//       32      4  params.kmeans_iterations
//       36      4  params.refine_factor
//       40      8  params.train_sample
//       48      8  params.seed
//       56      4  L (0 while untrained)
//       60      4  reserved, 0
//       64      8  n (stored vectors)
//       72  4 L dim  centroids, row-major f32
//       sq8 and L > 0 only: dim f32 per-dimension minima, dim f32 scales
//   then, for each list l < L:
//              4   c = vectors in the list
//            8 c   labels
//        q c dim   SQ8 codes, row-major
//        4 c dim   float32 vectors, row-major (unit length under cosine)
//   end - 8     8  checksum: internal::format_checksum of every byte before it
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "index/internal/byte_codec.h"
#include "index/internal/ivf_format.h"
#include "index/ivf_flat_index.h"

namespace meridian::index {

static_assert(std::endian::native == std::endian::little,
              "the IVF-Flat encoding is written with host byte order");

namespace {

using internal::ByteReader;
using internal::put;
using internal::put_array;

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("ivf-flat index encoding: ", what));
}

}  // namespace

absl::Status IvfFlatIndex::save(std::string* out) const {
  const size_t start = out->size();
  out->append(internal::kIvfFlatMagic);
  put<uint32_t>(*out, internal::kIvfFlatFormatVersion);
  put<uint32_t>(*out, dim_);
  put<uint32_t>(*out, static_cast<uint32_t>(metric_));
  put<uint32_t>(*out, static_cast<uint32_t>(params_.quantization));
  put<uint32_t>(*out, params_.nlist);
  put<uint32_t>(*out, params_.nprobe);
  put<uint32_t>(*out, params_.kmeans_iterations);
  put<uint32_t>(*out, params_.refine_factor);
  put<uint64_t>(*out, params_.train_sample);
  put<uint64_t>(*out, params_.seed);
  put<uint32_t>(*out, nlist_);
  put<uint32_t>(*out, 0);
  put<uint64_t>(*out, size());
  put_array(*out, centroids_.data(), centroids_.size());
  if (quantized() && is_trained()) {
    put_array(*out, quantizer_.min().data(), dim_);
    put_array(*out, quantizer_.scale().data(), dim_);
  }
  for (const List& list : lists_) {
    put<uint32_t>(*out, static_cast<uint32_t>(list.labels.size()));
    put_array(*out, list.labels.data(), list.labels.size());
    if (quantized()) put_array(*out, list.codes.data(), list.codes.size());
    put_array(*out, list.data.data(), list.data.size());
  }
  put<uint64_t>(*out, internal::format_checksum(std::string_view(*out).substr(start)));
  return absl::OkStatus();
}

absl::StatusOr<IvfFlatIndex> IvfFlatIndex::load(std::string_view bytes) {
  uint32_t version = 0;
  absl::StatusOr<ByteReader> frame = internal::open_frame(
      bytes, internal::kIvfFlatMagic, internal::kIvfFlatFormatVersion, "ivf-flat index", &version);
  if (!frame.ok()) return frame.status();
  ByteReader& in = *frame;
  uint32_t dim = 0, metric_code = 0, quantization = 0, nlist = 0, reserved = 0;
  uint64_t n = 0;
  IvfFlatParams params;
  in.get(dim);
  in.get(metric_code);
  in.get(quantization);
  in.get(params.nlist);
  in.get(params.nprobe);
  in.get(params.kmeans_iterations);
  in.get(params.refine_factor);
  in.get(params.train_sample);
  in.get(params.seed);
  in.get(nlist);
  in.get(reserved);
  if (!in.get(n)) return corrupt("truncated header");
  if (reserved != 0) return corrupt("reserved header bytes are not zero");
  if (dim < 1 || dim > kMaxDim) return corrupt(absl::StrCat("dimension ", dim, " out of range"));
  if (metric_code > static_cast<uint32_t>(Metric::kCosine)) return corrupt("unknown metric");
  params.quantization = static_cast<Quantization>(quantization);
  if (absl::Status st = params.validate(); !st.ok()) return corrupt(std::string(st.message()));
  if (nlist > 65536 || (nlist == 0 && n != 0)) return corrupt("list count out of range");

  IvfFlatIndex x(dim, static_cast<Metric>(metric_code), params);
  if (!in.get_array(x.centroids_, size_t{nlist} * dim)) return corrupt("truncated centroids");
  for (float c : x.centroids_) {
    if (!std::isfinite(c)) return corrupt("non-finite centroid");
  }
  if (x.quantized() && nlist > 0) {
    std::vector<float> lo, scale;
    if (!in.get_array(lo, dim) || !in.get_array(scale, dim)) return corrupt("truncated sq8 ranges");
    absl::StatusOr<ScalarQuantizer> sq = ScalarQuantizer::from_ranges(lo, scale);
    if (!sq.ok()) return corrupt(std::string(sq.status().message()));
    x.quantizer_ = *std::move(sq);
  }
  x.nlist_ = nlist;
  x.lists_.resize(nlist);
  const size_t code_bytes = x.quantized() ? dim : 0;
  const size_t row_bytes = sizeof(uint64_t) + code_bytes + sizeof(float) * size_t{dim};
  uint64_t total = 0;
  for (uint32_t l = 0; l < nlist; ++l) {
    List& list = x.lists_[l];
    uint32_t count = 0;
    if (!in.get(count) || count > in.remaining() / row_bytes) {
      return corrupt(absl::StrCat("list ", l, " exceeds the data"));
    }
    in.get_array(list.labels, count);
    if (x.quantized()) in.get_array(list.codes, size_t{count} * dim);
    in.get_array(list.data, size_t{count} * dim);
    for (uint32_t row = 0; row < count; ++row) {
      std::span<const float> v(list.data.data() + size_t{row} * dim, dim);
      if (!check_vector(v, dim).ok()) {
        return corrupt(absl::StrCat("list ", l, " row ", row, ": bad vector"));
      }
      if (!x.where_.try_emplace(list.labels[row], Location{l, row}).second) {
        return corrupt(absl::StrCat("label ", list.labels[row], " stored twice"));
      }
    }
    total += count;
  }
  if (total != n) return corrupt("list sizes do not add up to the vector count");
  if (in.remaining() != 0) return corrupt("trailing bytes");
  return x;
}

}  // namespace meridian::index
