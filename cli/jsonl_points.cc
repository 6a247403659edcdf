// JSON Lines point parsing with nlohmann-json; see jsonl_points.h for the accepted shape.
#include "cli/jsonl_points.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace meridian::cli {
namespace {

using nlohmann::json;

absl::StatusOr<PointId> parse_id(const json& id) {
  if (id.is_number_unsigned()) return PointId::number(id.get<uint64_t>());
  if (id.is_string()) return PointId::parse(id.get_ref<const std::string&>());
  if (id.is_number_integer()) return absl::InvalidArgumentError("\"id\" must not be negative");
  return absl::InvalidArgumentError(
      "\"id\" must be an unsigned integer or a string (a UUID or a decimal number)");
}

absl::StatusOr<std::vector<float>> parse_vector(const json& vector) {
  if (!vector.is_array() || vector.empty()) {
    return absl::InvalidArgumentError("\"vector\" must be a non-empty array of numbers");
  }
  std::vector<float> out;
  out.reserve(vector.size());
  for (size_t i = 0; i < vector.size(); ++i) {
    const json& value = vector[i];
    if (!value.is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("\"vector\"[", i, "] is not a number"));
    }
    const double d = value.get<double>();
    const float f = static_cast<float>(d);
    if (!std::isfinite(f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"vector\"[", i, "] = ", d, " is not a finite float32"));
    }
    out.push_back(f);
  }
  return out;
}

}  // namespace

absl::StatusOr<client::PointData> parse_point_json(std::string_view line) {
  json record = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!record.is_object()) return absl::InvalidArgumentError("not a JSON object");
  client::PointData point;
  bool has_id = false;
  bool has_vector = false;
  for (const auto& [key, value] : record.items()) {
    if (key == "id") {
      absl::StatusOr<PointId> id = parse_id(value);
      if (!id.ok()) return id.status();
      point.id = *id;
      has_id = true;
    } else if (key == "vector") {
      absl::StatusOr<std::vector<float>> vector = parse_vector(value);
      if (!vector.ok()) return vector.status();
      point.vector = *std::move(vector);
      has_vector = true;
    } else if (key == "payload") {
      if (value.is_object()) {
        point.payload_json = value.dump();
      } else if (!value.is_null()) {
        return absl::InvalidArgumentError("\"payload\" must be a JSON object or null");
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown key \"", key, "\" (expected id, vector, payload)"));
    }
  }
  if (!has_id) return absl::InvalidArgumentError("missing \"id\"");
  if (!has_vector) return absl::InvalidArgumentError("missing \"vector\"");
  return point;
}

JsonlPointReader::JsonlPointReader(std::string path, std::ifstream in)
    : path_(std::move(path)), in_(std::move(in)) {}

absl::StatusOr<std::unique_ptr<JsonlPointReader>> JsonlPointReader::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot open ", path));
  return std::unique_ptr<JsonlPointReader>(new JsonlPointReader(path, std::move(in)));
}

absl::StatusOr<size_t> JsonlPointReader::read(size_t max_points,
                                              std::vector<client::PointData>& out) {
  size_t n = 0;
  std::string line;
  while (n < max_points && std::getline(in_, line)) {
    ++line_number_;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<client::PointData> point = parse_point_json(line);
    if (!point.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", line_number_, ": ", std::string(point.status().message())));
    }
    if (dim_ == 0) dim_ = static_cast<uint32_t>(point->vector.size());
    if (point->vector.size() != dim_) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", line_number_, ": vector has dimension ", point->vector.size(),
                       ", expected ", dim_, " like the first line"));
    }
    out.push_back(*std::move(point));
    ++n;
  }
  if (in_.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path_));
  return n;
}

}  // namespace meridian::cli
