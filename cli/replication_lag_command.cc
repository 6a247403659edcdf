// replication-lag: probe writes on the source node, one watcher thread (and client) per target
// polling for each probe, and an optional load thread; see replication_lag_command.h.
#include "cli/replication_lag_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/latency_summary.h"
#include "client/client.h"

namespace meridian::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Probe and load ids live far above the ids datasets use, so a run never touches user points.
constexpr uint64_t kProbeIdBase = uint64_t{1} << 62;
constexpr uint64_t kLoadIdBase = kProbeIdBase + (uint64_t{1} << 40);
constexpr auto kProbeDeadline = std::chrono::seconds(30);

std::vector<float> random_vector(std::mt19937& rng, uint32_t dim) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(dim);
  for (auto& x : v) x = u(rng);
  return v;
}

// What the writer publishes for the watchers: the current probe and when it was acknowledged.
struct ProbeBoard {
  std::mutex mu;
  std::condition_variable changed;
  int64_t probe = -1;  // -1: none yet
  Clock::time_point acked;
  bool done = false;
};

// Polls one target for each published probe; records ack -> visible in ms.
void watch(const std::string& target, const std::string& collection, ProbeBoard& board,
           std::vector<double>& lags_ms, std::atomic<int>& seen, absl::Status& error) {
  auto client = client::Client::connect(target);
  if (!client.ok()) {
    error = client.status();
    seen.fetch_add(1 << 20);  // unblocks the writer: this watcher will see nothing
    return;
  }
  int64_t last = -1;
  while (true) {
    int64_t probe;
    Clock::time_point acked;
    {
      std::unique_lock lock(board.mu);
      board.changed.wait(lock, [&] { return board.done || board.probe != last; });
      if (board.done) return;
      probe = board.probe;
      acked = board.acked;
    }
    PointId id = PointId::number(kProbeIdBase + static_cast<uint64_t>(probe));
    while (Clock::now() - acked < kProbeDeadline) {
      auto got = (*client)->get(collection, std::span<const PointId>(&id, 1));
      if (!got.ok()) {
        error = got.status();
        break;
      }
      if (!got->empty()) {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - acked).count();
        lags_ms.push_back(std::max(0.0, ms));
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    last = probe;
    seen.fetch_add(1);
  }
}

}  // namespace

absl::Status run_replication_lag(const std::string& server, const ReplicationLagArgs& args,
                                 std::ostream& out) {
  auto writer = client::Client::connect(server);
  if (!writer.ok()) return writer.status();
  auto info = (*writer)->collection_info(args.collection);
  if (!info.ok()) return info.status();
  const uint32_t dim = info->config.dim;

  ProbeBoard board;
  std::vector<std::vector<double>> lags(args.targets.size());
  std::vector<absl::Status> errors(args.targets.size());
  std::atomic<int> seen{0};
  std::vector<std::thread> watchers;
  for (size_t t = 0; t < args.targets.size(); ++t) {
    watchers.emplace_back(watch, args.targets[t], args.collection, std::ref(board),
                          std::ref(lags[t]), std::ref(seen), std::ref(errors[t]));
  }

  // Background load: batches of 100 upserts at `load_rate` points/s on the source node.
  std::atomic<bool> stop_load{false};
  std::atomic<uint64_t> loaded{0};
  absl::Status load_error;
  std::thread load;
  if (args.load_rate > 0) {
    load = std::thread([&] {
      auto c = client::Client::connect(server);
      if (!c.ok()) {
        load_error = c.status();
        return;
      }
      std::mt19937 rng(2);
      const uint32_t batch = std::min<uint32_t>(100, args.load_rate);
      const auto period = std::chrono::duration<double>(double(batch) / args.load_rate);
      auto next = Clock::now();
      while (!stop_load.load()) {
        std::vector<client::PointData> points(batch);
        for (auto& p : points) {
          p.id = PointId::number(kLoadIdBase + loaded.fetch_add(1));
          p.vector = random_vector(rng, dim);
        }
        if (auto w = (*c)->upsert(args.collection, points); !w.ok()) {
          load_error = w.status();
          return;
        }
        next += std::chrono::duration_cast<Clock::duration>(period);
        std::this_thread::sleep_until(next);
      }
    });
  }

  std::mt19937 rng(1);
  const int per_probe = static_cast<int>(args.targets.size());
  absl::Status status;
  for (uint32_t i = 0; i < args.probes && status.ok(); ++i) {
    client::PointData p{PointId::number(kProbeIdBase + i), random_vector(rng, dim), ""};
    auto written = (*writer)->upsert(args.collection, std::span<const client::PointData>(&p, 1));
    if (!written.ok()) {
      status = written.status();
      break;
    }
    {
      std::lock_guard lock(board.mu);
      board.probe = i;
      board.acked = Clock::now();
    }
    board.changed.notify_all();
    const int target_seen = per_probe * static_cast<int>(i + 1);
    while (seen.load() < target_seen) std::this_thread::sleep_for(std::chrono::microseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(args.interval_ms));
  }
  {
    std::lock_guard lock(board.mu);
    board.done = true;
  }
  board.changed.notify_all();
  for (auto& w : watchers) w.join();
  stop_load.store(true);
  if (load.joinable()) load.join();
  if (!status.ok()) return status;
  if (!load_error.ok()) return load_error;

  out << "replication lag (write acknowledged on " << server << " until visible), " << args.probes
      << " probes";
  if (args.load_rate > 0) out << ", background load " << args.load_rate << " points/s";
  out << ":\n";
  for (size_t t = 0; t < args.targets.size(); ++t) {
    if (!errors[t].ok()) return errors[t];
    const size_t missed = args.probes - lags[t].size();
    out << absl::StrFormat(
        "  %-22s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms", args.targets[t],
        percentile(lags[t], 50), percentile(lags[t], 99),
        lags[t].empty() ? 0.0 : *std::max_element(lags[t].begin(), lags[t].end()));
    if (missed > 0) out << "  (" << missed << " probes not seen within 30 s)";
    out << '\n';
  }
  if (args.load_rate > 0) out << "  background points written: " << loaded.load() << '\n';
  // Remove the probe and load points again.
  std::vector<PointId> ids;
  for (uint32_t i = 0; i < args.probes; ++i) ids.push_back(PointId::number(kProbeIdBase + i));
  for (uint64_t i = 0; i < loaded.load(); ++i) ids.push_back(PointId::number(kLoadIdBase + i));
  for (size_t at = 0; at < ids.size(); at += kMaxBatchPoints) {
    size_t n = std::min<size_t>(kMaxBatchPoints, ids.size() - at);
    if (auto r = (*writer)->remove(args.collection, std::span<const PointId>(ids.data() + at, n));
        !r.ok()) {
      return r.status();
    }
  }
  return absl::OkStatus();
}

}  // namespace meridian::cli
