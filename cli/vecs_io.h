// Readers and writers for the TEXMEX vector file formats: .fvecs (float32 rows) and .ivecs
// (int32 rows), each row a little-endian int32 dimension followed by that many values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::cli {

// Largest row dimension a reader accepts; a larger leading int32 means a corrupt file.
inline constexpr uint32_t kMaxVecsDim = 1 << 20;

// A dense row-major matrix: rows() rows of `dim` values each.
template <typename T>
struct VecsMatrix {
  uint32_t dim = 0;
  std::vector<T> data;

  size_t rows() const { return dim == 0 ? 0 : data.size() / dim; }
  std::span<const T> row(size_t i) const { return {data.data() + i * dim, dim}; }
};

using FloatMatrix = VecsMatrix<float>;
using IntMatrix = VecsMatrix<int32_t>;

// Streams the rows of an fvecs (T = float) or ivecs (T = int32_t) file. open() checks that the
// file size is a whole number of rows of the first row's dimension; read() checks each row's
// dimension. Any violation is InvalidArgument naming the file (and the row); never a crash.
// An empty file has dim() 0 and no rows.
template <typename T>
class VecsReader {
 public:
  static absl::StatusOr<std::unique_ptr<VecsReader>> open(const std::string& path);
  VecsReader(const VecsReader&) = delete;
  VecsReader& operator=(const VecsReader&) = delete;

  uint32_t dim() const { return dim_; }
  // The number of rows in the file.
  size_t rows() const { return rows_; }
  // The number of rows read so far.
  size_t position() const { return position_; }

  // Appends up to `max_rows` rows (dim() values each) to `out`; returns how many it read,
  // 0 at the end of the file.
  absl::StatusOr<size_t> read(size_t max_rows, std::vector<T>& out);

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  using File = std::unique_ptr<std::FILE, FileCloser>;

  VecsReader(std::string path, File file, uint32_t dim, size_t rows);

  std::string path_;
  File file_;
  uint32_t dim_;
  size_t rows_;
  size_t position_ = 0;
};

using FvecsReader = VecsReader<float>;
using IvecsReader = VecsReader<int32_t>;

// Reads a whole file (see VecsReader for the checks).
absl::StatusOr<FloatMatrix> read_fvecs(const std::string& path);
absl::StatusOr<IntMatrix> read_ivecs(const std::string& path);

// Writes `matrix` (dim >= 1) to `path`, replacing the file.
absl::Status write_fvecs(const std::string& path, const FloatMatrix& matrix);
absl::Status write_ivecs(const std::string& path, const IntMatrix& matrix);

}  // namespace meridian::cli
