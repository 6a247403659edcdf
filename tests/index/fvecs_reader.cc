// Reads TEXMEX vector files: per row an int32 dimension followed by that many 4-byte values.
#include "tests/index/fvecs_reader.h"

#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace meridian::index::testing {
namespace {

template <typename T>
absl::StatusOr<VecsMatrix<T>> read_vecs(const std::filesystem::path& path, size_t max_rows) {
  static_assert(sizeof(T) == 4);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  VecsMatrix<T> m;
  while (max_rows == 0 || m.rows < max_rows) {
    int32_t dim = 0;
    if (!in.read(reinterpret_cast<char*>(&dim), sizeof(dim))) {
      if (in.gcount() == 0) break;  // Clean end of file.
      return absl::DataLossError(absl::StrCat(path.string(), ": truncated row header"));
    }
    if (dim <= 0 || (m.rows > 0 && static_cast<size_t>(dim) != m.dim)) {
      return absl::DataLossError(
          absl::StrCat(path.string(), ": bad dimension ", dim, " at row ", m.rows));
    }
    m.dim = static_cast<size_t>(dim);
    m.values.resize((m.rows + 1) * m.dim);
    char* dst = reinterpret_cast<char*>(m.values.data() + m.rows * m.dim);
    if (!in.read(dst, static_cast<std::streamsize>(m.dim * sizeof(T)))) {
      return absl::DataLossError(absl::StrCat(path.string(), ": truncated row ", m.rows));
    }
    ++m.rows;
  }
  return m;
}

}  // namespace

absl::StatusOr<VecsMatrix<float>> read_fvecs(const std::filesystem::path& path, size_t max_rows) {
  return read_vecs<float>(path, max_rows);
}

absl::StatusOr<VecsMatrix<int32_t>> read_ivecs(const std::filesystem::path& path, size_t max_rows) {
  return read_vecs<int32_t>(path, max_rows);
}

}  // namespace meridian::index::testing
