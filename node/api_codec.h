// Small conversions between the client API's Cap'n Proto messages and the node's types, shared by
// the API server (api_server.cc) and its forwarding of requests to other nodes
// (api_forwarding.cc).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/node.h"
#include "schema/api.capnp.h"
#include "schema/rpc_status.h"

namespace meridian::node {

// A write's wait for its write concern: `timeoutMs` 0 means the default; above the maximum is
// InvalidArgument.
inline constexpr uint32_t kDefaultWriteTimeoutMs = 5000;
inline constexpr uint32_t kMaxWriteTimeoutMs = 60000;

template <typename T>
T value_or_throw(absl::StatusOr<T> result) {
  if (!result.ok()) throw_status(result.status());
  return std::move(*result);
}

inline void ok_or_throw(const absl::Status& status) {
  if (!status.ok()) throw_status(status);
}

std::string text_of(capnp::Text::Reader t);
std::string bytes_of(capnp::Data::Reader d);
capnp::Data::Reader data_of(const std::string& bytes);
std::vector<float> floats_of(capnp::List<float>::Reader list);
std::vector<PointId> read_ids(capnp::List<rpc::PointId>::Reader ids);
void fill_point(const storage::PointRecord& record, bool with_vector, bool with_payload,
                rpc::Point::Builder out);
storage::PointRecord point_from_rpc(rpc::Point::Reader point);
void fill_search_results(const std::vector<std::vector<SearchHit>>& results,
                         const SearchParams& params, rpc::Api::SearchResults::Builder out);
std::vector<std::vector<SearchHit>> search_results_from_rpc(
    capnp::List<rpc::QueryResult>::Reader results);

}  // namespace meridian::node
