// Minimal TEXMEX .fvecs / .ivecs reader for index tests and benchmarks (the CLI has its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"

namespace meridian::index::testing {

// Row-major matrix read from an .fvecs or .ivecs file.
template <typename T>
struct VecsMatrix {
  size_t rows = 0;
  size_t dim = 0;
  std::vector<T> values;  // rows * dim

  const T* row(size_t i) const { return values.data() + i * dim; }
};

// Reads at most `max_rows` rows (all when 0). DataLoss for a truncated file, a non-positive or
// changing dimension; NotFound when the file cannot be opened.
absl::StatusOr<VecsMatrix<float>> read_fvecs(const std::filesystem::path& path,
                                             size_t max_rows = 0);
absl::StatusOr<VecsMatrix<int32_t>> read_ivecs(const std::filesystem::path& path,
                                               size_t max_rows = 0);

}  // namespace meridian::index::testing
