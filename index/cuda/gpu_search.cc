// The CUDA build of gpu_search.h: device probing, device memory, cuBLAS distance blocks and the
// chunking that keeps a search's working memory within GpuSearchOptions::scratch_bytes. The
// kernels are in gpu_kernels.cu.
#include "index/gpu_search.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/cuda/cublas_loader.h"
#include "index/cuda/gpu_input.h"
#include "index/cuda/gpu_kernels.h"

namespace meridian::index {
namespace {

absl::Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();  // clears a non-sticky error so the next call does not report it again
  std::string message = absl::StrCat("GPU ", what, ": ", cudaGetErrorString(error));
  if (error == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status blas_status(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  std::string message = absl::StrCat("GPU ", what, ": ", cuda::cublas_status_name(status));
  if (status == CUBLAS_STATUS_ALLOC_FAILED) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

// Owns `count` elements of device memory (none when empty).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Makes room for at least `count` elements (contents are not kept when it grows).
  absl::Status reserve(size_t count) {
    if (count <= count_) return absl::OkStatus();
    release();
    void* p = nullptr;
    if (absl::Status s = cuda_status(cudaMalloc(&p, count * sizeof(T)), "allocation"); !s.ok()) {
      return s;
    }
    ptr_ = static_cast<T*>(p);
    count_ = count;
    return absl::OkStatus();
  }
  T* get() const { return ptr_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void release() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// Copies host elements to the device on `stream` (the host data may be reused on return).
template <typename T>
absl::Status upload(DeviceBuffer<T>& dst, std::span<const T> src, cudaStream_t stream) {
  if (absl::Status s = dst.reserve(src.size()); !s.ok()) return s;
  if (src.empty()) return absl::OkStatus();
  return cuda_status(
      cudaMemcpyAsync(dst.get(), src.data(), src.size_bytes(), cudaMemcpyHostToDevice, stream),
      "upload");
}

// Fills `norms` with the squared L2 norm of each of the `n` rows of `rows` (device memory), for
// the ||q||^2 + ||x||^2 - 2 q.x form of the L2 distance.
absl::Status row_sq_norms(DeviceBuffer<float>& norms, const float* rows, size_t n, uint32_t dim,
                          cudaStream_t stream) {
  if (absl::Status s = norms.reserve(n); !s.ok()) return s;
  return cuda_status(cuda::launch_row_sq_norms(rows, n, dim, norms.get(), stream), "norms");
}

// What the one-time device probe found.
struct DeviceProbe {
  bool available = false;
  std::string description;
};

DeviceProbe probe_device() {
  int count = 0;
  cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess || count <= 0) {
    cudaGetLastError();
    return {false, absl::StrCat("no CUDA device found (",
                                error != cudaSuccess ? cudaGetErrorString(error)
                                                     : "the CUDA runtime reports 0 devices",
                                ")")};
  }
  cudaDeviceProp prop{};
  error = cudaGetDeviceProperties(&prop, 0);
  if (error != cudaSuccess) {
    cudaGetLastError();
    return {false,
            absl::StrCat("CUDA device 0 cannot be queried (", cudaGetErrorString(error), ")")};
  }
  return {true,
          absl::StrCat(prop.name, ", sm_", prop.major, prop.minor, ", ", prop.totalGlobalMem >> 30,
                       " GiB", count > 1 ? absl::StrCat(", device 0 of ", count) : "")};
}

const DeviceProbe& device_probe() {
  // Probed once: the device count does not change under a running process.
  static const DeviceProbe probe = probe_device();
  return probe;
}

// One stream and one cuBLAS handle bound to it: each searcher has its own.
class DeviceContext {
 public:
  static absl::StatusOr<std::unique_ptr<DeviceContext>> make() {
    if (!gpu_available()) {
      return absl::UnavailableError(absl::StrCat("GPU search unavailable: ", gpu_description()));
    }
    auto blas = cuda::load_cublas();
    if (!blas.ok()) return blas.status();
    auto ctx = std::unique_ptr<DeviceContext>(new DeviceContext(*blas));
    if (auto s = cuda_status(cudaSetDevice(0), "device selection"); !s.ok()) return s;
    if (auto s = cuda_status(cudaStreamCreateWithFlags(&ctx->stream_, cudaStreamNonBlocking),
                             "stream creation");
        !s.ok()) {
      return s;
    }
    if (auto s = blas_status(ctx->blas_->create(&ctx->handle_), "cuBLAS initialisation"); !s.ok()) {
      return s;
    }
    if (auto s = blas_status(ctx->blas_->set_stream(ctx->handle_, ctx->stream_), "cuBLAS stream");
        !s.ok()) {
      return s;
    }
    return ctx;
  }
  ~DeviceContext() {
    if (handle_ != nullptr) blas_->destroy(handle_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  cudaStream_t stream() const { return stream_; }

  // scores (cols x rows in cuBLAS terms; as row-major: `nq` rows of `n` floats, row stride n) =
  // alpha * Q (nq x dim, row-major) * X^T (X: n x dim, row-major).
  absl::Status query_times_rows(const float* x, size_t n, const float* q, size_t nq, uint32_t dim,
                                float alpha, float* scores) const {
    const float beta = 0.0f;
    // Row-major X is column-major dim x n; C (column-major n x nq) = X^T Q, so C's column for a
    // query is contiguous: the row-major (query, row) layout the selection kernels read.
    return blas_status(
        blas_->sgemm(handle_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(nq),
                     static_cast<int>(dim), &alpha, x, static_cast<int>(dim), q,
                     static_cast<int>(dim), &beta, scores, static_cast<int>(n)),
        "sgemm");
  }

  absl::Status sync() const { return cuda_status(cudaStreamSynchronize(stream_), "search"); }

 private:
  explicit DeviceContext(const cuda::Cublas* blas) : blas_(blas) {}
  const cuda::Cublas* blas_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
};

// Turns rows of result keys (row stride `ld`) into neighbours, skipping padding.
void decode_rows(std::span<const uint64_t> keys, size_t rows, size_t ld, size_t k,
                 bool higher_is_better, std::span<const uint64_t> labels_by_rank,
                 std::vector<std::vector<Neighbor>>::iterator out) {
  for (size_t i = 0; i < rows; ++i, ++out) {
    out->clear();
    for (size_t j = 0; j < k; ++j) {
      const uint64_t key = keys[i * ld + j];
      if (key == cuda::kEmptyKey) break;
      out->push_back({labels_by_rank[cuda::key_rank(key)], cuda::key_score(key, higher_is_better)});
    }
  }
}

}  // namespace

bool gpu_built() { return true; }
bool gpu_available() { return device_probe().available; }
std::string gpu_description() { return device_probe().description; }

// ---------------------------------------------------------------------------------------------
// Exact search.

struct GpuFlatSearcher::Impl {
  uint32_t dim = 0;
  Metric metric = Metric::kL2;
  GpuSearchOptions options;
  std::vector<uint64_t> labels;  // rank -> label; device row r holds the vector of labels[r]
  std::unique_ptr<DeviceContext> ctx;
  DeviceBuffer<float> vectors;
  DeviceBuffer<float> sq_norms;  // kL2 only
};

GpuFlatSearcher::GpuFlatSearcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuFlatSearcher::~GpuFlatSearcher() = default;

absl::StatusOr<std::unique_ptr<GpuFlatSearcher>> GpuFlatSearcher::create(
    uint32_t dim, Metric metric, std::span<const uint64_t> labels, std::span<const float> vectors,
    GpuSearchOptions options) {
  auto rows = gpu_input::rank_rows(dim, metric, labels, vectors);
  if (!rows.ok()) return rows.status();
  auto ctx = DeviceContext::make();
  if (!ctx.ok()) return ctx.status();
  auto impl = std::make_unique<Impl>();
  impl->dim = dim;
  impl->metric = metric;
  impl->options = options;
  impl->labels = std::move(rows->labels);
  impl->ctx = std::move(*ctx);
  const cudaStream_t stream = impl->ctx->stream();
  if (auto s = upload(impl->vectors, std::span<const float>(rows->vectors), stream); !s.ok()) {
    return s;
  }
  const size_t n = impl->labels.size();
  if (metric == Metric::kL2) {
    if (auto s = row_sq_norms(impl->sq_norms, impl->vectors.get(), n, dim, stream); !s.ok()) {
      return s;
    }
  }
  if (auto s = impl->ctx->sync(); !s.ok()) return s;
  return std::unique_ptr<GpuFlatSearcher>(new GpuFlatSearcher(std::move(impl)));
}

size_t GpuFlatSearcher::size() const { return impl_->labels.size(); }
uint32_t GpuFlatSearcher::dim() const { return impl_->dim; }
Metric GpuFlatSearcher::metric() const { return impl_->metric; }
size_t GpuFlatSearcher::device_bytes() const {
  return impl_->vectors.bytes() + impl_->sq_norms.bytes();
}

absl::StatusOr<std::vector<std::vector<Neighbor>>> GpuFlatSearcher::search(
    std::span<const float> queries, size_t k) const {
  const Impl& m = *impl_;
  if (auto s = gpu_input::check_k(k); !s.ok()) return s;
  auto prepared = gpu_input::prepare_queries(queries, m.dim, m.metric);
  if (!prepared.ok()) return prepared.status();
  const size_t nq = prepared->size() / m.dim;
  const size_t n = m.labels.size();
  std::vector<std::vector<Neighbor>> out(nq);
  if (k == 0 || nq == 0 || n == 0) return out;

  const bool l2 = m.metric == Metric::kL2;
  const bool higher = higher_is_better(m.metric);
  const size_t kk = std::min(k, n);
  const size_t block =
      std::min(n, m.options.block_rows != 0 ? m.options.block_rows : size_t{1} << 16);
  // With several row blocks, each query keeps 2kk keys: its best so far, then the block's best;
  // after each block the 2kk are reduced in place to the new best kk.
  const bool merge = block < n;
  const size_t key_ld = merge ? 2 * kk : kk;
  const size_t per_query =
      block * sizeof(float) + key_ld * sizeof(uint64_t) + (m.dim + 1) * sizeof(float);
  const size_t chunk = std::clamp<size_t>(m.options.scratch_bytes / per_query, 1, nq);

  DeviceBuffer<float> d_queries, d_q_sq, d_scores;
  DeviceBuffer<uint64_t> d_keys;
  for (auto s : {d_queries.reserve(chunk * m.dim), d_q_sq.reserve(chunk),
                 d_scores.reserve(chunk * block), d_keys.reserve(chunk * key_ld)}) {
    if (!s.ok()) return s;
  }
  const cudaStream_t stream = m.ctx->stream();
  std::vector<uint64_t> host_keys(chunk * key_ld);
  for (size_t q0 = 0; q0 < nq; q0 += chunk) {
    const size_t bq = std::min(chunk, nq - q0);
    auto q_block = std::span<const float>(*prepared).subspan(q0 * m.dim, bq * m.dim);
    if (auto s = upload(d_queries, q_block, stream); !s.ok()) return s;
    if (l2) {
      if (auto s = cuda_status(
              cuda::launch_row_sq_norms(d_queries.get(), bq, m.dim, d_q_sq.get(), stream), "norms");
          !s.ok()) {
        return s;
      }
    }
    if (merge) {
      // All ones: kEmptyKey in every "best so far" slot.
      if (auto s = cuda_status(
              cudaMemsetAsync(d_keys.get(), 0xff, bq * key_ld * sizeof(uint64_t), stream),
              "memset");
          !s.ok()) {
        return s;
      }
    }
    for (size_t r0 = 0; r0 < n; r0 += block) {
      const size_t br = std::min(block, n - r0);
      if (auto s = m.ctx->query_times_rows(m.vectors.get() + r0 * m.dim, br, d_queries.get(), bq,
                                           m.dim, l2 ? -2.0f : 1.0f, d_scores.get());
          !s.ok()) {
        return s;
      }
      uint64_t* block_keys = merge ? d_keys.get() + kk : d_keys.get();
      cudaError_t error = cuda::launch_select_scores(
          d_scores.get(), bq, br, br, l2, d_q_sq.get(), l2 ? m.sq_norms.get() + r0 : nullptr,
          static_cast<uint32_t>(r0), higher, kk, block_keys, key_ld, stream);
      if (error == cudaSuccess && merge) {
        error = cuda::launch_select_keys(d_keys.get(), bq, 2 * kk, key_ld, kk, d_keys.get(), key_ld,
                                         stream);
      }
      if (auto s = cuda_status(error, "top-k selection"); !s.ok()) return s;
    }
    if (auto s = cuda_status(
            cudaMemcpyAsync(host_keys.data(), d_keys.get(), bq * key_ld * sizeof(uint64_t),
                            cudaMemcpyDeviceToHost, stream),
            "download");
        !s.ok()) {
      return s;
    }
    if (auto s = m.ctx->sync(); !s.ok()) return s;
    decode_rows(host_keys, bq, key_ld, kk, higher, m.labels, out.begin() + q0);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// IVF-Flat.

struct GpuIvfFlatSearcher::Impl {
  uint32_t dim = 0;
  Metric metric = Metric::kL2;
  GpuSearchOptions options;
  uint32_t nlist = 0;
  uint32_t default_nprobe = 1;
  std::vector<uint64_t> labels;        // rank -> label
  std::vector<uint64_t> list_offsets;  // nlist + 1: list L is device rows [L], [L + 1])
  std::unique_ptr<DeviceContext> ctx;
  DeviceBuffer<float> centroids;
  DeviceBuffer<float> centroid_sq;  // kL2 only
  DeviceBuffer<float> vectors;      // every list's rows, list after list
  DeviceBuffer<uint32_t> ranks;     // row -> rank of its label
  DeviceBuffer<uint64_t> d_list_offsets;
};

GpuIvfFlatSearcher::GpuIvfFlatSearcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuIvfFlatSearcher::~GpuIvfFlatSearcher() = default;

absl::StatusOr<std::unique_ptr<GpuIvfFlatSearcher>> GpuIvfFlatSearcher::create(
    const IvfFlatIndex& index, GpuSearchOptions options) {
  if (!index.is_trained()) return absl::InvalidArgumentError("the IVF-Flat index is not trained");
  if (index.params().quantization != Quantization::kNone) {
    return absl::InvalidArgumentError("GPU IVF scanning takes float32 lists only, not SQ8");
  }
  if (index.size() >= uint64_t{0xffffffff}) {
    return absl::InvalidArgumentError(absl::StrCat("too many vectors for the GPU: ", index.size()));
  }
  auto ctx = DeviceContext::make();
  if (!ctx.ok()) return ctx.status();
  auto impl = std::make_unique<Impl>();
  impl->dim = index.dim();
  impl->metric = index.metric();
  impl->options = options;
  impl->nlist = index.nlist();
  impl->default_nprobe = index.params().nprobe;
  impl->ctx = std::move(*ctx);
  const size_t n = index.size();
  const uint32_t dim = index.dim();
  // Concatenate the lists; rank every label so that equal scores resolve to the smaller label.
  std::vector<uint64_t> row_labels;
  std::vector<float> vectors;
  row_labels.reserve(n);
  vectors.reserve(n * dim);
  impl->list_offsets.assign(1, 0);
  for (uint32_t list = 0; list < impl->nlist; ++list) {
    auto labels = index.list_labels(list);
    auto rows = index.list_vectors(list);
    row_labels.insert(row_labels.end(), labels.begin(), labels.end());
    vectors.insert(vectors.end(), rows.begin(), rows.begin() + labels.size() * dim);
    impl->list_offsets.push_back(row_labels.size());
  }
  std::vector<uint32_t> order(row_labels.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return row_labels[a] < row_labels[b]; });
  std::vector<uint32_t> ranks(row_labels.size());
  impl->labels.resize(row_labels.size());
  for (uint32_t r = 0; r < order.size(); ++r) {
    ranks[order[r]] = r;
    impl->labels[r] = row_labels[order[r]];
  }
  const cudaStream_t stream = impl->ctx->stream();
  for (auto s :
       {upload(impl->centroids, index.centroids(), stream),
        upload(impl->vectors, std::span<const float>(vectors), stream),
        upload(impl->ranks, std::span<const uint32_t>(ranks), stream),
        upload(impl->d_list_offsets, std::span<const uint64_t>(impl->list_offsets), stream)}) {
    if (!s.ok()) return s;
  }
  if (impl->metric == Metric::kL2) {
    if (auto s = row_sq_norms(impl->centroid_sq, impl->centroids.get(), impl->nlist, dim, stream);
        !s.ok()) {
      return s;
    }
  }
  if (auto s = impl->ctx->sync(); !s.ok()) return s;
  return std::unique_ptr<GpuIvfFlatSearcher>(new GpuIvfFlatSearcher(std::move(impl)));
}

size_t GpuIvfFlatSearcher::size() const { return impl_->labels.size(); }
uint32_t GpuIvfFlatSearcher::nlist() const { return impl_->nlist; }
size_t GpuIvfFlatSearcher::device_bytes() const {
  const Impl& m = *impl_;
  return m.centroids.bytes() + m.centroid_sq.bytes() + m.vectors.bytes() + m.ranks.bytes() +
         m.d_list_offsets.bytes();
}

absl::StatusOr<std::vector<std::vector<Neighbor>>> GpuIvfFlatSearcher::search(
    std::span<const float> queries, size_t k, size_t nprobe) const {
  const Impl& m = *impl_;
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
  if (auto s = gpu_input::check_k(k); !s.ok()) return s;
  auto prepared = gpu_input::prepare_queries(queries, m.dim, m.metric);
  if (!prepared.ok()) return prepared.status();
  const size_t nq = prepared->size() / m.dim;
  const size_t n = m.labels.size();
  std::vector<std::vector<Neighbor>> out(nq);
  if (nq == 0 || n == 0) return out;
  const size_t np = std::min<size_t>(nprobe == 0 ? m.default_nprobe : nprobe, m.nlist);
  const bool every_list = np == m.nlist;
  if (!every_list && np > kGpuMaxK) {
    return absl::InvalidArgumentError(absl::StrCat("nprobe = ", np, " is above the GPU's limit of ",
                                                   kGpuMaxK, " (unless it covers all ", m.nlist,
                                                   " lists)"));
  }
  const bool l2 = m.metric == Metric::kL2;
  const bool higher = higher_is_better(m.metric);
  const size_t kk = std::min(k, n);
  const cudaStream_t stream = m.ctx->stream();

  // Half the scratch for the coarse step (queries x centroids), half for candidate keys.
  const size_t per_query = (every_list ? 0 : m.nlist * sizeof(float) + np * sizeof(uint64_t)) +
                           (m.dim + 1) * sizeof(float);
  const size_t chunk = std::clamp<size_t>(m.options.scratch_bytes / 2 / per_query, 1, nq);
  const size_t candidate_budget =
      std::max<size_t>(m.options.scratch_bytes / 2 / sizeof(uint64_t), 1);
  DeviceBuffer<float> d_queries, d_q_sq, d_coarse;
  DeviceBuffer<uint64_t> d_probe_keys, d_cand, d_cand_offsets, d_row_offsets, d_out;
  DeviceBuffer<uint32_t> d_probes;
  for (auto s : {d_queries.reserve(chunk * m.dim), d_q_sq.reserve(chunk),
                 d_coarse.reserve(every_list ? 0 : chunk * m.nlist),
                 d_probe_keys.reserve(every_list ? 0 : chunk * np)}) {
    if (!s.ok()) return s;
  }
  std::vector<uint64_t> probe_keys(every_list ? 0 : chunk * np);
  std::vector<uint32_t> probes;
  std::vector<uint64_t> cand_offsets, row_offsets, result_keys;

  for (size_t q0 = 0; q0 < nq; q0 += chunk) {
    const size_t bq = std::min(chunk, nq - q0);
    auto q_block = std::span<const float>(*prepared).subspan(q0 * m.dim, bq * m.dim);
    if (auto s = upload(d_queries, q_block, stream); !s.ok()) return s;
    if (!every_list) {
      // Coarse quantiser: the np best centroids per query (ties to the smaller list id).
      cudaError_t error = cudaSuccess;
      if (l2) error = cuda::launch_row_sq_norms(d_queries.get(), bq, m.dim, d_q_sq.get(), stream);
      if (auto s = cuda_status(error, "norms"); !s.ok()) return s;
      if (auto s = m.ctx->query_times_rows(m.centroids.get(), m.nlist, d_queries.get(), bq, m.dim,
                                           l2 ? -2.0f : 1.0f, d_coarse.get());
          !s.ok()) {
        return s;
      }
      error = cuda::launch_select_scores(d_coarse.get(), bq, m.nlist, m.nlist, l2, d_q_sq.get(),
                                         m.centroid_sq.get(), 0, higher, np, d_probe_keys.get(), np,
                                         stream);
      if (error == cudaSuccess) {
        error = cudaMemcpyAsync(probe_keys.data(), d_probe_keys.get(), bq * np * sizeof(uint64_t),
                                cudaMemcpyDeviceToHost, stream);
      }
      if (auto s = cuda_status(error, "coarse quantiser"); !s.ok()) return s;
      if (auto s = m.ctx->sync(); !s.ok()) return s;
    }
    // Scan the probed lists of as many queries at a time as their candidates fit the budget (a
    // single query always goes, however many candidates it has).
    for (size_t begin = 0; begin < bq;) {
      // Candidate keys of the (query, probe) pairs are laid out pair after pair, query-major:
      // query i's row for the selection is [row_offsets[i], row_offsets[i + 1]).
      probes.clear();
      cand_offsets.clear();
      row_offsets.assign(1, 0);
      size_t end = begin;
      while (end < bq) {
        auto list_of = [&](size_t p) {
          return every_list ? static_cast<uint32_t>(p) : cuda::key_rank(probe_keys[end * np + p]);
        };
        uint64_t candidates = 0;
        for (size_t p = 0; p < np; ++p) {
          candidates += m.list_offsets[list_of(p) + 1] - m.list_offsets[list_of(p)];
        }
        if (end > begin && row_offsets.back() + candidates > candidate_budget) break;
        uint64_t offset = row_offsets.back();
        for (size_t p = 0; p < np; ++p) {
          const uint32_t list = list_of(p);
          probes.push_back(list);
          cand_offsets.push_back(offset);
          offset += m.list_offsets[list + 1] - m.list_offsets[list];
        }
        row_offsets.push_back(offset);
        ++end;
      }
      const size_t rows = end - begin;
      result_keys.resize(rows * kk);
      for (auto s :
           {upload(d_probes, std::span<const uint32_t>(probes), stream),
            upload(d_cand_offsets, std::span<const uint64_t>(cand_offsets), stream),
            upload(d_row_offsets, std::span<const uint64_t>(row_offsets), stream),
            d_cand.reserve(std::max<uint64_t>(row_offsets.back(), 1)), d_out.reserve(rows * kk)}) {
        if (!s.ok()) return s;
      }
      cudaError_t error = cuda::launch_ivf_scan(
          d_queries.get() + begin * m.dim, rows, m.dim, d_probes.get(), np, m.d_list_offsets.get(),
          m.vectors.get(), m.ranks.get(), d_cand_offsets.get(), l2, higher, d_cand.get(), stream);
      if (error == cudaSuccess) {
        error = cuda::launch_select_key_ranges(d_cand.get(), d_row_offsets.get(), rows, kk,
                                               d_out.get(), kk, stream);
      }
      if (error == cudaSuccess) {
        error = cudaMemcpyAsync(result_keys.data(), d_out.get(), rows * kk * sizeof(uint64_t),
                                cudaMemcpyDeviceToHost, stream);
      }
      if (auto s = cuda_status(error, "list scan"); !s.ok()) return s;
      if (auto s = m.ctx->sync(); !s.ok()) return s;
      decode_rows(result_keys, rows, kk, kk, higher, m.labels, out.begin() + q0 + begin);
      begin = end;
    }
  }
  return out;
}

}  // namespace meridian::index
