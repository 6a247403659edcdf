// Conversions between client API messages and node types; see api_codec.h.
#include "node/api_codec.h"

#include "schema/convert.h"

namespace meridian::node {

std::string text_of(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::string bytes_of(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

capnp::Data::Reader data_of(const std::string& bytes) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(bytes.data()), bytes.size());
}

std::vector<float> floats_of(capnp::List<float>::Reader list) {
  std::vector<float> out(list.size());
  for (unsigned i = 0; i < list.size(); ++i) out[i] = list[i];
  return out;
}

std::vector<PointId> read_ids(capnp::List<rpc::PointId>::Reader ids) {
  std::vector<PointId> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(value_or_throw(point_id_from_rpc(id)));
  return out;
}

void fill_point(const storage::PointRecord& record, bool with_vector, bool with_payload,
                rpc::Point::Builder out) {
  point_id_to_rpc(record.id, out.initId());
  if (with_vector) {
    auto v = out.initVector(static_cast<unsigned>(record.vector.size()));
    for (size_t i = 0; i < record.vector.size(); ++i) v.set(i, record.vector[i]);
  }
  if (with_payload && !record.payload_json.empty()) out.setPayload(record.payload_json);
}

storage::PointRecord point_from_rpc(rpc::Point::Reader point) {
  storage::PointRecord out;
  out.id = value_or_throw(point_id_from_rpc(point.getId()));
  out.vector = floats_of(point.getVector());
  out.payload_json = text_of(point.getPayload());
  return out;
}

void fill_search_results(const std::vector<std::vector<SearchHit>>& results,
                         const SearchParams& params, rpc::Api::SearchResults::Builder out) {
  auto queries = out.initResults(static_cast<unsigned>(results.size()));
  for (size_t qi = 0; qi < results.size(); ++qi) {
    auto points = queries[qi].initPoints(static_cast<unsigned>(results[qi].size()));
    for (size_t i = 0; i < results[qi].size(); ++i) {
      const SearchHit& hit = results[qi][i];
      auto p = points[i];
      point_id_to_rpc(hit.id, p.initId());
      p.setScore(hit.score);
      if (params.with_vector) {
        auto v = p.initVector(static_cast<unsigned>(hit.vector.size()));
        for (size_t j = 0; j < hit.vector.size(); ++j) v.set(j, hit.vector[j]);
      }
      if (params.with_payload && !hit.payload_json.empty()) p.setPayload(hit.payload_json);
    }
  }
}

std::vector<std::vector<SearchHit>> search_results_from_rpc(
    capnp::List<rpc::QueryResult>::Reader results) {
  std::vector<std::vector<SearchHit>> out(results.size());
  for (unsigned q = 0; q < results.size(); ++q) {
    for (auto p : results[q].getPoints()) {
      SearchHit hit;
      hit.id = value_or_throw(point_id_from_rpc(p.getId()));
      hit.score = p.getScore();
      hit.vector = floats_of(p.getVector());
      hit.payload_json = text_of(p.getPayload());
      out[q].push_back(std::move(hit));
    }
  }
  return out;
}

}  // namespace meridian::node
