// Synthetic dataset generation. Randomness comes from std::mt19937_64 (its output sequence is
// fixed by the standard) with our own uniform and Box-Muller transforms, because the standard
// distributions may differ between library implementations.
#include "cli/gen_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace meridian::cli {
namespace {

constexpr double kClusterSpread = 1.0;  // standard deviation of cluster centres per coordinate
constexpr double kPointSpread = 0.3;    // standard deviation of points around their centre

class GaussianSource {
 public:
  explicit GaussianSource(uint64_t seed) : engine_(seed) {}

  // Uniform in (0, 1].
  double uniform() { return (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53; }

  size_t below(size_t n) { return static_cast<size_t>(engine_() % n); }

  double gaussian() {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    return r * std::cos(2.0 * std::numbers::pi * uniform());
  }

 private:
  std::mt19937_64 engine_;
};

double norm(std::span<const float> v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  return std::sqrt(sum);
}

}  // namespace

uint32_t default_cluster_count(uint32_t base_size) {
  return std::clamp<uint32_t>(base_size / 500, 1, 64);
}

FloatMatrix generate_clustered_vectors(uint32_t n, uint32_t dim, uint32_t clusters, uint64_t seed,
                                       uint64_t stream) {
  GaussianSource centre_source(seed);
  std::vector<double> centres(size_t{clusters} * dim);
  for (double& c : centres) c = kClusterSpread * centre_source.gaussian();

  GaussianSource point_source(seed ^ (0x9e3779b97f4a7c15ull * (stream + 1)));
  FloatMatrix out{.dim = dim, .data = std::vector<float>(size_t{n} * dim)};
  for (uint32_t i = 0; i < n; ++i) {
    const double* centre = centres.data() + point_source.below(clusters) * dim;
    for (uint32_t j = 0; j < dim; ++j) {
      out.data[size_t{i} * dim + j] =
          static_cast<float>(centre[j] + kPointSpread * point_source.gaussian());
    }
  }
  return out;
}

void exact_neighbors(const FloatMatrix& base, const FloatMatrix& queries, Metric metric, uint32_t k,
                     IntMatrix& ids, FloatMatrix& distances) {
  const size_t n = base.rows();
  ids = IntMatrix{.dim = k, .data = std::vector<int32_t>(queries.rows() * k)};
  distances = FloatMatrix{.dim = k, .data = std::vector<float>(queries.rows() * k)};
  std::vector<double> base_norms;
  if (metric == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) base_norms.push_back(norm(base.row(i)));
  }
  std::vector<std::pair<double, int32_t>> scored(n);
  for (size_t q = 0; q < queries.rows(); ++q) {
    auto query = queries.row(q);
    const double query_norm = metric == Metric::kCosine ? norm(query) : 0;
    for (size_t i = 0; i < n; ++i) {
      auto row = base.row(i);
      double value = 0;
      if (metric == Metric::kL2) {
        for (uint32_t j = 0; j < base.dim; ++j) {
          const double d = double{query[j]} - row[j];
          value += d * d;
        }
        value = std::sqrt(value);
      } else {
        double dot = 0;
        for (uint32_t j = 0; j < base.dim; ++j) dot += double{query[j]} * row[j];
        const double norms = query_norm * base_norms[i];
        value = metric == Metric::kCosine ? 1.0 - (norms > 0 ? dot / norms : 0.0) : -dot;
      }
      scored[i] = {value, static_cast<int32_t>(i)};
    }
    std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
    for (uint32_t j = 0; j < k; ++j) {
      ids.data[q * k + j] = scored[j].second;
      distances.data[q * k + j] = static_cast<float>(scored[j].first);
    }
  }
}

absl::Status run_gen_dataset(const GenDatasetArgs& args, std::ostream& out) {
  std::error_code error;
  std::filesystem::create_directories(args.dir, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create directory ", args.dir, ": ", error.message()));
  }
  const uint32_t clusters = default_cluster_count(args.n);
  const FloatMatrix base = generate_clustered_vectors(args.n, args.dim, clusters, args.seed, 0);
  const FloatMatrix queries =
      generate_clustered_vectors(args.queries, args.dim, clusters, args.seed, 1);
  const uint32_t k = std::min(kGroundTruthDepth, args.n);
  IntMatrix ids;
  FloatMatrix distances;
  exact_neighbors(base, queries, args.metric, k, ids, distances);

  const std::string prefix = (std::filesystem::path(args.dir) / args.name).string();
  if (absl::Status s = write_fvecs(prefix + "_base.fvecs", base); !s.ok()) return s;
  if (absl::Status s = write_fvecs(prefix + "_query.fvecs", queries); !s.ok()) return s;
  if (absl::Status s = write_ivecs(prefix + "_groundtruth.ivecs", ids); !s.ok()) return s;
  if (absl::Status s = write_fvecs(prefix + "_groundtruth_dist.fvecs", distances); !s.ok()) {
    return s;
  }
  out << "wrote " << prefix
      << "_{base,query}.fvecs, _groundtruth.ivecs, _groundtruth_dist.fvecs: " << args.n
      << " base vectors, " << args.queries << " queries, dim " << args.dim << ", metric "
      << metric_name(args.metric) << ", exact top-" << k << '\n';
  return absl::OkStatus();
}

}  // namespace meridian::cli
