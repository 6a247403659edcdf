// Where `meridian import` reads points from: an .fvecs file (numeric ids first_id, first_id+1,
// ...; no payloads) or a JSON Lines file (see jsonl_points.h), chosen by the file's extension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/types.h"

namespace meridian::cli {

enum class PointFileFormat { kFvecs, kJsonLines };

// .fvecs -> kFvecs; .jsonl, .ndjson, .json -> kJsonLines; anything else is InvalidArgument.
absl::StatusOr<PointFileFormat> point_file_format(const std::string& path);

// A stream of points read from a file. Every point it yields has a finite vector of the same
// dimension as the first; a violation is InvalidArgument naming the file and the row or line.
class PointSource {
 public:
  virtual ~PointSource() = default;
  // Appends up to `max_points` points to `out`; returns how many, 0 at the end.
  virtual absl::StatusOr<size_t> read(size_t max_points, std::vector<client::PointData>& out) = 0;
};

// Opens `path` in the format its extension names. `first_id` numbers fvecs rows (an fvecs file
// whose ids would pass 2^64 - 1 fails at open); `first_id_given` with a JSON Lines file is an
// error because such files carry their own ids.
absl::StatusOr<std::unique_ptr<PointSource>> open_point_source(const std::string& path,
                                                               uint64_t first_id,
                                                               bool first_id_given);

}  // namespace meridian::cli
