// How the CLI prints a point: one compact JSON object per line,
//   {"id":7,"vector":[0.5,1],"payload":{"title":"x"}}
// with UUID ids as strings, floats in shortest round-trip form, and no "payload" key when the
// point has none.
#pragma once

#include <string>

#include "client/types.h"

namespace meridian::cli {

std::string point_to_json(const client::PointData& point);

}  // namespace meridian::cli
