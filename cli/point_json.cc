// Point formatting: floats through std::to_chars so 0.1f prints as 0.1, not 0.10000000149.
#include "cli/point_json.h"

#include <charconv>
#include <cmath>

#include "nlohmann/json.hpp"

namespace meridian::cli {
namespace {

void append_float(float value, std::string& out) {
  if (!std::isfinite(value)) {
    out += "null";  // JSON has no NaN or infinity; the server never stores them anyway
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc() ? end : buffer);
}

}  // namespace

std::string point_to_json(const client::PointData& point) {
  std::string out = "{\"id\":";
  if (point.id.is_number()) {
    out += point.id.to_string();
  } else {
    out += "\"" + point.id.to_string() + "\"";
  }
  out += ",\"vector\":[";
  for (size_t i = 0; i < point.vector.size(); ++i) {
    if (i > 0) out += ',';
    append_float(point.vector[i], out);
  }
  out += ']';
  if (!point.payload_json.empty()) {
    // Re-serialise to guarantee one valid JSON line whatever the server sent.
    nlohmann::json payload = nlohmann::json::parse(point.payload_json, nullptr, false);
    out += ",\"payload\":";
    out += payload.is_discarded() ? nlohmann::json(point.payload_json).dump() : payload.dump();
  }
  out += '}';
  return out;
}

}  // namespace meridian::cli
