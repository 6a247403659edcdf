// PointSource implementations over VecsReader and JsonlPointReader.
#include "cli/point_source.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "cli/jsonl_points.h"
#include "cli/vecs_io.h"

namespace meridian::cli {
namespace {

class FvecsPointSource : public PointSource {
 public:
  FvecsPointSource(std::string path, std::unique_ptr<FvecsReader> reader, uint64_t first_id)
      : path_(std::move(path)), reader_(std::move(reader)), next_id_(first_id) {}

  absl::StatusOr<size_t> read(size_t max_points, std::vector<client::PointData>& out) override {
    buffer_.clear();
    const size_t first_row = reader_->position();
    absl::StatusOr<size_t> n = reader_->read(max_points, buffer_);
    if (!n.ok()) return n.status();
    const uint32_t dim = reader_->dim();
    for (size_t i = 0; i < *n; ++i) {
      const float* row = buffer_.data() + i * dim;
      for (uint32_t j = 0; j < dim; ++j) {
        if (!std::isfinite(row[j])) {
          return absl::InvalidArgumentError(
              absl::StrCat(path_, ": row ", first_row + i, " has a non-finite value at index ", j));
        }
      }
      out.push_back(client::PointData{PointId::number(next_id_++), {row, row + dim}, ""});
    }
    return *n;
  }

 private:
  std::string path_;
  std::unique_ptr<FvecsReader> reader_;
  uint64_t next_id_;
  std::vector<float> buffer_;
};

class JsonlPointSource : public PointSource {
 public:
  explicit JsonlPointSource(std::unique_ptr<JsonlPointReader> reader)
      : reader_(std::move(reader)) {}

  absl::StatusOr<size_t> read(size_t max_points, std::vector<client::PointData>& out) override {
    return reader_->read(max_points, out);
  }

 private:
  std::unique_ptr<JsonlPointReader> reader_;
};

}  // namespace

absl::StatusOr<PointFileFormat> point_file_format(const std::string& path) {
  if (path.ends_with(".fvecs")) return PointFileFormat::kFvecs;
  if (path.ends_with(".jsonl") || path.ends_with(".ndjson") || path.ends_with(".json")) {
    return PointFileFormat::kJsonLines;
  }
  return absl::InvalidArgumentError(absl::StrCat("cannot tell the format of ", path,
                                                 ": name it *.fvecs or *.jsonl (JSON Lines)"));
}

absl::StatusOr<std::unique_ptr<PointSource>> open_point_source(const std::string& path,
                                                               uint64_t first_id,
                                                               bool first_id_given) {
  absl::StatusOr<PointFileFormat> format = point_file_format(path);
  if (!format.ok()) return format.status();
  if (*format == PointFileFormat::kJsonLines) {
    if (first_id_given) {
      return absl::InvalidArgumentError(
          "--first-id applies to .fvecs files only; JSON Lines points carry their own ids");
    }
    absl::StatusOr<std::unique_ptr<JsonlPointReader>> reader = JsonlPointReader::open(path);
    if (!reader.ok()) return reader.status();
    return std::unique_ptr<PointSource>(std::make_unique<JsonlPointSource>(*std::move(reader)));
  }
  absl::StatusOr<std::unique_ptr<FvecsReader>> reader = FvecsReader::open(path);
  if (!reader.ok()) return reader.status();
  const uint64_t rows = (*reader)->rows();
  if (rows > 0 && first_id > std::numeric_limits<uint64_t>::max() - (rows - 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--first-id ", first_id, " plus ", rows,
                                                   " rows passes the largest id 2^64-1"));
  }
  return std::unique_ptr<PointSource>(
      std::make_unique<FvecsPointSource>(path, *std::move(reader), first_id));
}

}  // namespace meridian::cli
