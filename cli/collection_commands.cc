// Collection administration commands: one RPC each, printed as plain text.
#include "cli/collection_commands.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <string>

namespace meridian::cli {
namespace {

// "2026-12-05T07:50:01.123Z" for milliseconds since the Unix epoch.
std::string utc_time(uint64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm parts {};
  gmtime_r(&seconds, &parts);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  char millis[8];
  snprintf(millis, sizeof millis, ".%03uZ", static_cast<unsigned>(ms % 1000));
  return std::string(text) + millis;
}

// The losing concurrent creates of the collection's name, one line each, so that whoever made
// one learns that its settings (and any writes made under them) were not kept.
void print_conflicts(const std::vector<client::CatalogConflict>& conflicts, std::ostream& out) {
  if (conflicts.empty()) return;
  out << "conflicts: " << conflicts.size()
      << " concurrent create(s) of this name with other settings lost to this one (the earliest "
         "create wins in every region; their writes were not kept):\n";
  for (const auto& c : conflicts) {
    out << "  region " << c.region << ", created " << utc_time(c.created_ms) << ": dim "
        << c.config.dim << ", metric " << metric_name(c.config.metric) << ", index "
        << index_kind_name(c.config.index_kind) << (c.dropped ? " (dropped)" : "") << '\n';
  }
}

}  // namespace

absl::Status run_collection_create(client::Client& client, const CollectionCreateArgs& args,
                                   std::ostream& out) {
  absl::StatusOr<client::CollectionInfo> info = client.create_collection(args.config);
  if (!info.ok()) return info.status();
  out << "created collection " << info->config.name << " (dim " << info->config.dim << ", metric "
      << metric_name(info->config.metric) << ", index " << index_kind_name(info->config.index_kind)
      << ")\n";
  return absl::OkStatus();
}

absl::Status run_collection_list(client::Client& client, std::ostream& out) {
  absl::StatusOr<std::vector<client::CollectionInfo>> infos = client.list_collections();
  if (!infos.ok()) return infos.status();
  size_t name_width = 4;
  for (const auto& info : *infos) name_width = std::max(name_width, info.config.name.size());
  out << std::left << std::setw(static_cast<int>(name_width)) << "NAME"
      << "  " << std::right << std::setw(6) << "DIM"
      << "  " << std::left << std::setw(6) << "METRIC"
      << "  " << std::setw(8) << "INDEX"
      << "  " << std::right << std::setw(12) << "POINTS"
      << "  " << std::setw(14) << "BYTES" << '\n';
  for (const auto& info : *infos) {
    out << std::left << std::setw(static_cast<int>(name_width)) << info.config.name << "  "
        << std::right << std::setw(6) << info.config.dim << "  " << std::left << std::setw(6)
        << metric_name(info.config.metric) << "  " << std::setw(8)
        << index_kind_name(info.config.index_kind) << "  " << std::right << std::setw(12)
        << info.point_count << "  " << std::setw(14) << info.stored_bytes << '\n';
  }
  return absl::OkStatus();
}

absl::Status run_collection_info(client::Client& client, const CollectionInfoArgs& args,
                                 std::ostream& out) {
  absl::StatusOr<client::CollectionInfo> info = client.collection_info(args.name);
  if (!info.ok()) return info.status();
  out << "name:    " << info->config.name << '\n'
      << "dim:     " << info->config.dim << '\n'
      << "metric:  " << metric_name(info->config.metric) << '\n'
      << "index:   " << index_kind_name(info->config.index_kind);
  const CollectionConfig& config = info->config;
  const bool sq8 = config.quantization == Quantization::kSq8;
  if (config.index_kind == IndexKind::kHnsw) {
    out << " (m " << config.hnsw_m << ", ef_construction " << config.hnsw_ef_construction;
  } else if (config.index_kind == IndexKind::kIvfFlat || config.index_kind == IndexKind::kIvfPq) {
    out << " (nlist ";
    if (config.ivf_nlist == 0) {
      out << "auto";
    } else {
      out << config.ivf_nlist;
    }
  }
  if (config.index_kind == IndexKind::kIvfPq) {
    out << ", pq_m " << ivf_pq_m_for(config.pq_m, config.dim)
        << (config.pq_m == 0 ? " (auto)" : "");
  }
  if (config.index_kind == IndexKind::kHnsw || config.index_kind == IndexKind::kIvfFlat) {
    out << ", quantization " << quantization_name(config.quantization);
  }
  if (config.index_kind == IndexKind::kIvfPq || sq8) {
    out << ", refine_factor " << effective_refine_factor(config)
        << (config.refine_factor == 0 ? " (default)" : "");
  }
  if (config.index_kind != IndexKind::kFlat) out << ")";
  out << '\n' << "shards:  " << config.shard_count << ", replication factor ";
  if (config.replication_factor == 0) {
    out << "every node of a region";
  } else {
    out << config.replication_factor << " per region";
  }
  out << '\n'
      << "points:  " << info->point_count << '\n'
      << "bytes:   " << info->stored_bytes << '\n'
      << "digest:  " << info->digest << '\n';
  print_conflicts(info->conflicts, out);
  if (info->config.index_kind != IndexKind::kFlat) {
    const client::SegmentStats& s = info->segments;
    out << "segments: seal at " << info->config.segment_seal_points << " points, rebuild above "
        << info->config.segment_rebuild_deleted_percent << "% deleted\n"
        << "  growing: " << s.growing_points << " points (exact)\n"
        << "  sealed:  " << s.sealed_segments << " segments, " << s.sealed_points << " points\n"
        << "  pending: " << s.pending_segments << " segments"
        << (s.build_pending ? ", building" : "") << '\n';
  }
  return absl::OkStatus();
}

absl::Status run_collection_drop(client::Client& client, const CollectionDropArgs& args,
                                 std::ostream& out) {
  absl::Status dropped = client.drop_collection(args.name);
  if (!dropped.ok()) return dropped;
  out << "dropped collection " << args.name << '\n';
  return absl::OkStatus();
}

}  // namespace meridian::cli
