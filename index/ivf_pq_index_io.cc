// IvfPqIndex::save / load: the versioned byte encoding of a whole IVF-PQ index and its
// validation.
//
// Encoding, version 1 (all integers little-endian; L = trained list count, m = effective
// sub-quantiser count, f = 1 when params.refine_factor > 0 else 0):
//   offset  bytes  field
//        0      8  magic "MRDIVFPQ"
//        8      4  format version (1)
//       12      4  dim
//       16      4  metric: 0 l2, 1 inner product, 2 cosine
//       20      4  params.nlist (0 = automatic)
//       24      4  params.nprobe
//       28      4  params.m (0 = automatic)
//       32      4  params.refine_factor
//       36      4  params.kmeans_iterations
//       40      4  m (params.m, or its automatic value max(1, dim / 4))
//       44      4  L (0 while untrained)
//       48      8  params.train_sample
//       56      8  params.pq_train_sample
//       64      8  params.seed
//       72      8  n (stored vectors)
//       80  4 L dim  coarse centroids, row-major f32
//       metric not l2 only:
//           4 L dim  residual bases (mean of each list's training vectors), row-major f32
//       L > 0 only:
//         4 256 dim  product-quantiser centroids: per sub-space j (dimensions [j dim / m,
//                    (j + 1) dim / m)), its dimensions' rows of 256 f32 (transposed)
//   then, for each list l < L:
//              4   c = vectors in the list
//            8 c   labels
//            m c   PQ codes of the residuals, row-major
//        4 f c dim float32 vectors, row-major (unit length under cosine)
//   end - 8     8  checksum: internal::format_checksum of every byte before it
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "index/internal/byte_codec.h"
#include "index/internal/ivf_format.h"
#include "index/ivf_pq_index.h"

namespace meridian::index {

static_assert(std::endian::native == std::endian::little,
              "the IVF-PQ encoding is written with host byte order");

namespace {

using internal::ByteReader;
using internal::put;
using internal::put_array;

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("ivf-pq index encoding: ", what));
}

}  // namespace

absl::Status IvfPqIndex::save(std::string* out) const {
  const size_t start = out->size();
  out->append(internal::kIvfPqMagic);
  put<uint32_t>(*out, internal::kIvfPqFormatVersion);
  put<uint32_t>(*out, dim_);
  put<uint32_t>(*out, static_cast<uint32_t>(metric_));
  put<uint32_t>(*out, params_.nlist);
  put<uint32_t>(*out, params_.nprobe);
  put<uint32_t>(*out, params_.m);
  put<uint32_t>(*out, params_.refine_factor);
  put<uint32_t>(*out, params_.kmeans_iterations);
  put<uint32_t>(*out, m_);
  put<uint32_t>(*out, nlist_);
  put<uint64_t>(*out, params_.train_sample);
  put<uint64_t>(*out, params_.pq_train_sample);
  put<uint64_t>(*out, params_.seed);
  put<uint64_t>(*out, size());
  put_array(*out, centroids_.data(), centroids_.size());
  put_array(*out, bases_.data(), bases_.size());
  if (is_trained()) put_array(*out, pq_.centroids().data(), pq_.centroids().size());
  for (const List& list : lists_) {
    put<uint32_t>(*out, static_cast<uint32_t>(list.labels.size()));
    put_array(*out, list.labels.data(), list.labels.size());
    put_array(*out, list.codes.data(), list.codes.size());
    put_array(*out, list.full.data(), list.full.size());
  }
  put<uint64_t>(*out, internal::format_checksum(std::string_view(*out).substr(start)));
  return absl::OkStatus();
}

absl::StatusOr<IvfPqIndex> IvfPqIndex::load(std::string_view bytes) {
  uint32_t version = 0;
  absl::StatusOr<ByteReader> frame = internal::open_frame(
      bytes, internal::kIvfPqMagic, internal::kIvfPqFormatVersion, "ivf-pq index", &version);
  if (!frame.ok()) return frame.status();
  ByteReader& in = *frame;
  uint32_t dim = 0, metric_code = 0, m = 0, nlist = 0;
  uint64_t n = 0;
  IvfPqParams params;
  in.get(dim);
  in.get(metric_code);
  in.get(params.nlist);
  in.get(params.nprobe);
  in.get(params.m);
  in.get(params.refine_factor);
  in.get(params.kmeans_iterations);
  in.get(m);
  in.get(nlist);
  in.get(params.train_sample);
  in.get(params.pq_train_sample);
  in.get(params.seed);
  if (!in.get(n)) return corrupt("truncated header");
  if (dim < 1 || dim > kMaxDim) return corrupt(absl::StrCat("dimension ", dim, " out of range"));
  if (metric_code > static_cast<uint32_t>(Metric::kCosine)) return corrupt("unknown metric");
  if (absl::Status st = params.validate(); !st.ok()) return corrupt(std::string(st.message()));
  if (params.m > dim) return corrupt("m exceeds the dimension");
  if (nlist > 65536 || (nlist == 0 && n != 0)) return corrupt("list count out of range");

  IvfPqIndex x(dim, static_cast<Metric>(metric_code), params);
  if (m != x.m_) return corrupt("sub-quantiser count does not match the parameters");
  if (!in.get_array(x.centroids_, size_t{nlist} * dim)) return corrupt("truncated centroids");
  if (x.metric_ != Metric::kL2 && !in.get_array(x.bases_, size_t{nlist} * dim)) {
    return corrupt("truncated residual bases");
  }
  for (const std::vector<float>* v : {&x.centroids_, &x.bases_}) {
    for (float c : *v) {
      if (!std::isfinite(c)) return corrupt("non-finite centroid or residual base");
    }
  }
  if (nlist > 0) {
    std::vector<float> codebook;
    if (!in.get_array(codebook, ProductQuantizer::kCentroids * dim)) {
      return corrupt("truncated product quantiser");
    }
    absl::StatusOr<ProductQuantizer> pq = ProductQuantizer::from_centroids(dim, m, codebook);
    if (!pq.ok()) return corrupt(std::string(pq.status().message()));
    x.pq_ = *std::move(pq);
  }
  x.nlist_ = nlist;
  x.lists_.resize(nlist);
  const size_t full_floats = x.keeps_full() ? dim : 0;
  const size_t row_bytes = sizeof(uint64_t) + m + sizeof(float) * full_floats;
  uint64_t total = 0;
  for (uint32_t l = 0; l < nlist; ++l) {
    List& list = x.lists_[l];
    uint32_t count = 0;
    if (!in.get(count) || count > in.remaining() / row_bytes) {
      return corrupt(absl::StrCat("list ", l, " exceeds the data"));
    }
    in.get_array(list.labels, count);
    in.get_array(list.codes, size_t{count} * m);
    in.get_array(list.full, size_t{count} * full_floats);
    for (uint32_t row = 0; row < count; ++row) {
      if (x.keeps_full() && !check_vector({list.full.data() + size_t{row} * dim, dim}, dim).ok()) {
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
