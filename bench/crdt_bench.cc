// Benchmark of the CRDT core (crdt/): local upserts through PointReplica, merge throughput of
// single deltas and of one 100K-delta batch, and CRDT metadata bytes per live point in the
// canonical encoding. In-memory only: the LMDB commit path is measured end to end by
// bench/end_to_end.sh. Usage: crdt_bench [N=100000] [DIM=128]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crdt/hlc.h"
#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"

using namespace meridian::crdt;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string id_of(uint64_t i) {
  std::string id(9, '\0');
  id[0] = 0;  // the node's "number" kind byte
  for (int b = 0; b < 8; ++b) id[1 + b] = static_cast<char>(i >> (56 - 8 * b));
  return id;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const uint32_t dim = argc > 2 ? static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)) : 128;
#ifndef NDEBUG
  std::printf("WARNING: assertions are on (debug build); figures are not representative\n");
#endif
  std::printf("crdt_bench: %llu points, dim %u, payload 2 fields\n",
              static_cast<unsigned long long>(n), dim);

  HlcStats stats;
  HybridLogicalClock clock(HlcOptions{}, &stats);
  PointReplica a(1);
  std::vector<PointSet> deltas;
  deltas.reserve(n);
  std::vector<float> vector(dim, 0.5f);
  uint64_t payload_bytes = 0;

  auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    vector[0] = static_cast<float>(i);
    PayloadFields payload = {{"title", "\"document " + std::to_string(i) + "\""},
                             {"year", std::to_string(1990 + i % 30)}};
    for (const auto& [k, v] : payload) payload_bytes += k.size() + v.size();
    deltas.push_back(a.upsert(id_of(i), vector, payload, clock.now(1'000'000 + i / 100)));
  }
  double upsert_s = seconds_since(start);
  std::printf("local upserts (CRDT only):      %10.0f /s  (%.3f s)\n", n / upsert_s, upsert_s);

  PointReplica b(2);
  start = Clock::now();
  for (const auto& d : deltas) b.apply(d);
  double single_s = seconds_since(start);
  std::printf("merge, one delta at a time:     %10.0f deltas/s  (%.3f s)\n", n / single_s,
              single_s);

  PointSet batch;
  start = Clock::now();
  for (const auto& d : deltas) batch.join(d);
  double build_s = seconds_since(start);
  PointReplica c(3);
  start = Clock::now();
  c.apply(batch);
  double batch_s = seconds_since(start);
  std::printf("merge of one %llu-delta batch:  %10.3f s  (building the batch took %.3f s)\n",
              static_cast<unsigned long long>(n), batch_s, build_s);

  bool converged = digest(a.state()) == digest(b.state()) && digest(b.state()) == digest(c.state());
  std::printf("replicas converged (digests equal): %s\n", converged ? "yes" : "NO");

  std::string encoded = encode_point_set(a.state());
  double data_bytes = static_cast<double>(n) * (dim * 4.0 + 9) + static_cast<double>(payload_bytes);
  std::printf(
      "canonical state %zu bytes; CRDT metadata %.1f bytes per live point "
      "(beyond id, vector and payload)\n",
      encoded.size(), (static_cast<double>(encoded.size()) - data_bytes) / n);
  return converged ? 0 : 1;
}
