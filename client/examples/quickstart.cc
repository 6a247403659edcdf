// Quickstart for the Meridian C++ client: create a collection, upsert points with payloads,
// search, print the hits, drop the collection. Usage: meridian_quickstart [--server HOST:PORT]
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client/client.h"

using meridian::CollectionConfig;
using meridian::Metric;
using meridian::PointId;
using meridian::client::Client;
using meridian::client::PointData;
using meridian::client::SearchRequest;

namespace {

int fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:7600";
  if (argc == 3 && std::strcmp(argv[1], "--server") == 0) server = argv[2];

  // 1. Connect. One Client per thread; it owns its own event loop.
  auto client = Client::connect(server);
  if (!client.ok()) return fail(client.status());

  // 2. Create a small 3-dimensional collection searched by cosine similarity.
  const std::string name = "quickstart";
  auto created = (*client)->create_collection(
      CollectionConfig{.name = name, .dim = 3, .metric = Metric::kCosine});
  if (!created.ok()) return fail(created.status());

  // 3. Upsert a few points: numeric ids, vectors, JSON payloads.
  std::vector<PointData> points = {
      {PointId::number(1), {1.0f, 0.0f, 0.0f}, R"({"title": "red"})"},
      {PointId::number(2), {0.0f, 1.0f, 0.0f}, R"({"title": "green"})"},
      {PointId::number(3), {0.7f, 0.7f, 0.0f}, R"({"title": "yellow"})"},
  };
  auto written = (*client)->upsert(name, points);
  if (!written.ok()) return fail(written.status());
  std::printf("upserted %u points\n", written->applied);

  // 4. Search for the 2 points closest to one query, with their payloads.
  SearchRequest search{
      .collection = name, .queries = {0.9f, 0.1f, 0.0f}, .k = 2, .with_payload = true};
  auto results = (*client)->search(search);
  if (!results.ok()) return fail(results.status());
  for (const auto& hit : results->at(0)) {
    std::printf("id %s  score %.4f  payload %s\n", hit.id.to_string().c_str(), hit.score,
                hit.payload_json.c_str());
  }

  // 5. Clean up.
  absl::Status dropped = (*client)->drop_collection(name);
  if (!dropped.ok()) return fail(dropped);
  return 0;
}
