// Parsing of points from JSON Lines, one object per line:
//   {"id": 7 | "uuid-string", "vector": [0.1, ...], "payload": {...}}
#pragma once

#include <cstddef>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/types.h"

namespace meridian::cli {

// Parses one line. Rules (InvalidArgument otherwise):
// - "id": a JSON unsigned integer, or a string holding a UUID or a decimal number;
// - "vector": a non-empty array of numbers, each finite as float32 (JSON has no NaN; a value
//   that overflows float32 is rejected here rather than sent);
// - "payload": optional, a JSON object or null; sent re-serialized compactly;
// - no other keys (a typo such as "vectors" is an error, not silently ignored).
absl::StatusOr<client::PointData> parse_point_json(std::string_view line);

// Streams points from a JSON Lines file. Blank lines are skipped. Every error names the file and
// line ("points.jsonl:12: ..."), and so does a vector whose dimension differs from the first.
class JsonlPointReader {
 public:
  static absl::StatusOr<std::unique_ptr<JsonlPointReader>> open(const std::string& path);

  // Appends up to `max_points` points to `out`; returns how many, 0 at the end of the file.
  absl::StatusOr<size_t> read(size_t max_points, std::vector<client::PointData>& out);

  // The dimension of the first vector read, 0 before that.
  uint32_t dim() const { return dim_; }

 private:
  JsonlPointReader(std::string path, std::ifstream in);

  std::string path_;
  std::ifstream in_;
  size_t line_number_ = 0;
  uint32_t dim_ = 0;
};

}  // namespace meridian::cli
