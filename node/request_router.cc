// RequestRouter: splitting writes by shard and merging the shards' answers; see
// request_router.h.
#include "node/request_router.h"

#include <sodium.h>

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/request_validation.h"
#include "node/shard_placement.h"

namespace meridian::node {
namespace {

constexpr std::string_view kShardTokenMagic = "MSTK";
constexpr uint8_t kShardTokenVersion = 1;

void put_u32_le(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(v >> shift));
}

uint32_t get_u32_le(std::string_view in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// Whether hit `a` ranks before hit `b` under `metric` (ties by id, so the merge is
// deterministic).
bool ranks_before(Metric metric, const SearchHit& a, const SearchHit& b) {
  if (a.score != b.score) return metric == Metric::kL2 ? a.score < b.score : a.score > b.score;
  return a.id < b.id;
}

}  // namespace

std::string encode_shard_token(const std::vector<ShardToken>& tokens) {
  std::string out(kShardTokenMagic);
  out.push_back(static_cast<char>(kShardTokenVersion));
  put_u32_le(out, static_cast<uint32_t>(tokens.size()));
  for (const auto& t : tokens) {
    put_u32_le(out, t.shard);
    put_u32_le(out, static_cast<uint32_t>(t.token.size()));
    out.append(t.token);
  }
  return out;
}

absl::StatusOr<std::vector<ShardToken>> decode_shard_token(std::string_view bytes) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consistency token: ", std::string(why)));
  };
  if (bytes.size() < 9 || bytes.substr(0, 4) != kShardTokenMagic) {
    return bad("not the token of a sharded collection");
  }
  if (static_cast<uint8_t>(bytes[4]) != kShardTokenVersion) return bad("unknown version");
  const uint32_t count = get_u32_le(bytes.substr(5));
  if (count > kMaxShardCount) return bad("too many shards");
  std::vector<ShardToken> out;
  size_t at = 9;
  for (uint32_t i = 0; i < count; ++i) {
    if (bytes.size() - at < 8) return bad("truncated");
    ShardToken t;
    t.shard = get_u32_le(bytes.substr(at));
    const uint32_t length = get_u32_le(bytes.substr(at + 4));
    at += 8;
    if (t.shard >= kMaxShardCount) return bad("shard out of range");
    if (bytes.size() - at < length) return bad("truncated");
    t.token = std::string(bytes.substr(at, length));
    at += length;
    out.push_back(std::move(t));
  }
  if (at != bytes.size()) return bad("trailing bytes");
  return out;
}

absl::StatusOr<CollectionConfig> RequestRouter::config_of(const std::string& collection) const {
  // Shard replica names are the node's business, never a client's.
  if (auto s = validate_collection_name(collection); !s.ok()) return s;
  return node_.collection_config(collection);
}

absl::StatusOr<std::string> RequestRouter::replica_of(const std::string& collection,
                                                      uint32_t shard) const {
  std::string local = shard_replica_name(collection, shard);
  if (!node_.replica_id(local).ok()) {
    return absl::UnavailableError(absl::StrCat("shard ", shard, " of collection '", collection,
                                               "' is not held on this node"));
  }
  return local;
}

std::vector<std::vector<size_t>> RequestRouter::split(std::span<const PointId> ids,
                                                      uint32_t shards) {
  std::vector<std::vector<size_t>> out(shards);
  for (size_t i = 0; i < ids.size(); ++i) out[shard_of(ids[i], shards)].push_back(i);
  return out;
}

namespace {

RoutedWrite single(const std::string& replica, WriteOutcome outcome) {
  RoutedWrite out;
  out.applied = outcome.applied;
  out.causal_token = std::move(outcome.causal_token);
  out.commits.push_back({replica, outcome.log_seq});
  return out;
}

// Adds one shard's outcome to `out` (tokens gathered in `tokens`).
void add_part(RoutedWrite& out, std::vector<ShardToken>& tokens, uint32_t shard,
              const std::string& replica, WriteOutcome outcome) {
  out.applied += outcome.applied;
  tokens.push_back({shard, std::move(outcome.causal_token)});
  out.commits.push_back({replica, outcome.log_seq});
}

}  // namespace

absl::StatusOr<RoutedWrite> RequestRouter::upsert(const std::string& collection,
                                                  std::vector<storage::PointRecord> points) {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) {
    auto outcome = node_.upsert(collection, std::move(points));
    if (!outcome.ok()) return outcome.status();
    return single(collection, *std::move(outcome));
  }
  // Validate the whole batch first, so that bad input writes no shard at all.
  if (auto s = validate_points(*config, points); !s.ok()) return s;
  std::vector<PointId> ids;
  for (const auto& p : points) ids.push_back(p.id);
  const auto parts = split(ids, config->shard_count);
  std::vector<std::string> replicas(config->shard_count);
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    if (parts[s].empty()) continue;
    auto replica = replica_of(collection, s);
    if (!replica.ok()) return replica.status();
    replicas[s] = *replica;
  }
  RoutedWrite out;
  std::vector<ShardToken> tokens;
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    if (parts[s].empty()) continue;
    std::vector<storage::PointRecord> part;
    part.reserve(parts[s].size());
    for (size_t i : parts[s]) part.push_back(std::move(points[i]));
    auto outcome = node_.upsert(replicas[s], std::move(part));
    if (!outcome.ok()) return outcome.status();
    add_part(out, tokens, s, replicas[s], *std::move(outcome));
  }
  out.causal_token = encode_shard_token(tokens);
  return out;
}

absl::Status validate_points(const CollectionConfig& config,
                             const std::vector<storage::PointRecord>& points) {
  if (auto s = validate_batch_size(points.size(), "points"); !s.ok()) return s;
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string where = absl::StrCat("point ", i, " (id ", points[i].id.to_string(), ")");
    if (auto s = validate_vector(config, points[i].vector, where); !s.ok()) return s;
    auto payload = normalize_payload(points[i].payload_json, where);
    if (!payload.ok()) return payload.status();
  }
  return absl::OkStatus();
}

template <typename Write>
absl::StatusOr<RoutedWrite> RequestRouter::write_ids(const std::string& collection,
                                                     std::span<const PointId> ids, Write write) {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) {
    auto outcome = write(collection, ids);
    if (!outcome.ok()) return outcome.status();
    return single(collection, *std::move(outcome));
  }
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  const auto parts = split(ids, config->shard_count);
  RoutedWrite out;
  std::vector<ShardToken> tokens;
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    if (parts[s].empty()) continue;
    auto replica = replica_of(collection, s);
    if (!replica.ok()) return replica.status();
    std::vector<PointId> part;
    for (size_t i : parts[s]) part.push_back(ids[i]);
    auto outcome = write(*replica, std::span<const PointId>(part));
    if (!outcome.ok()) return outcome.status();
    add_part(out, tokens, s, *replica, *std::move(outcome));
  }
  out.causal_token = encode_shard_token(tokens);
  return out;
}

absl::StatusOr<RoutedWrite> RequestRouter::remove(const std::string& collection,
                                                  std::span<const PointId> ids) {
  return write_ids(collection, ids, [&](const std::string& replica, std::span<const PointId> part) {
    return node_.remove(replica, part);
  });
}

absl::StatusOr<RoutedWrite> RequestRouter::set_payload(const std::string& collection,
                                                       std::span<const PointId> ids,
                                                       const std::string& payload_json) {
  if (auto s = normalize_payload(payload_json, "payload"); !s.ok()) return s.status();
  return write_ids(collection, ids, [&](const std::string& replica, std::span<const PointId> part) {
    return node_.set_payload(replica, part, payload_json);
  });
}

absl::StatusOr<RoutedWrite> RequestRouter::overwrite_payload(const std::string& collection,
                                                             std::span<const PointId> ids,
                                                             const std::string& payload_json) {
  if (auto s = normalize_payload(payload_json, "payload"); !s.ok()) return s.status();
  return write_ids(collection, ids, [&](const std::string& replica, std::span<const PointId> part) {
    return node_.overwrite_payload(replica, part, payload_json);
  });
}

absl::StatusOr<RoutedWrite> RequestRouter::delete_payload_keys(
    const std::string& collection, std::span<const PointId> ids,
    const std::vector<std::string>& keys) {
  return write_ids(collection, ids, [&](const std::string& replica, std::span<const PointId> part) {
    return node_.delete_payload_keys(replica, part, keys);
  });
}

absl::StatusOr<bool> RequestRouter::token_satisfied(const std::string& collection,
                                                    std::string_view token) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) return node_.token_satisfied(collection, token);
  auto tokens = decode_shard_token(token);
  if (!tokens.ok()) return tokens.status();
  for (const auto& t : *tokens) {
    if (t.shard >= config->shard_count) {
      return absl::InvalidArgumentError(absl::StrCat("consistency token names shard ", t.shard,
                                                     " of a collection of ", config->shard_count,
                                                     " shards"));
    }
    auto replica = replica_of(collection, t.shard);
    if (!replica.ok()) return replica.status();
    auto reached = node_.token_satisfied(*replica, t.token);
    if (!reached.ok() || !*reached) return reached;
  }
  return true;
}

absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> RequestRouter::get(
    const std::string& collection, std::span<const PointId> ids) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) return node_.get(collection, ids);
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  std::vector<std::optional<storage::PointRecord>> out(ids.size());
  const auto parts = split(ids, config->shard_count);
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    if (parts[s].empty()) continue;
    auto replica = replica_of(collection, s);
    if (!replica.ok()) return replica.status();
    std::vector<PointId> part;
    for (size_t i : parts[s]) part.push_back(ids[i]);
    auto records = node_.get(*replica, part);
    if (!records.ok()) return records.status();
    for (size_t j = 0; j < parts[s].size(); ++j) out[parts[s][j]] = std::move((*records)[j]);
  }
  return out;
}

bool RequestRouter::holds(const std::string& collection, uint32_t shard) const {
  return node_.replica_id(shard_replica_name(collection, shard)).ok();
}

namespace {

std::vector<uint32_t> shards_or_all(const std::optional<std::vector<uint32_t>>& shards,
                                    uint32_t shard_count) {
  if (shards.has_value()) return *shards;
  std::vector<uint32_t> all(shard_count);
  for (uint32_t s = 0; s < shard_count; ++s) all[s] = s;
  return all;
}

}  // namespace

absl::StatusOr<uint64_t> RequestRouter::count(
    const std::string& collection, const std::optional<std::vector<uint32_t>>& shards) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1 && !shards.has_value()) return node_.count(collection);
  uint64_t total = 0;
  for (uint32_t s : shards_or_all(shards, config->shard_count)) {
    auto replica = replica_of(collection, s);
    if (!replica.ok()) return replica.status();
    auto n = node_.count(*replica);
    if (!n.ok()) return n.status();
    total += *n;
  }
  return total;
}

absl::StatusOr<storage::ScrollPage> RequestRouter::scroll(
    const std::string& collection, std::string_view cursor, uint32_t limit,
    std::optional<uint32_t> only_shard) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) return node_.scroll(collection, cursor, limit);
  if (limit == 0) limit = 100;
  if (limit > kMaxScrollLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("scroll limit ", limit, " exceeds the maximum of ", kMaxScrollLimit));
  }
  uint32_t shard = 0;
  std::string inner;
  if (!cursor.empty()) {
    shard = static_cast<uint8_t>(cursor[0]);
    inner = std::string(cursor.substr(1));
    if (shard >= config->shard_count) {
      return absl::InvalidArgumentError("malformed scroll cursor: shard out of range");
    }
  }
  if (only_shard.has_value() && cursor.empty()) shard = *only_shard;
  if (only_shard.has_value() && shard != *only_shard) {
    return absl::InvalidArgumentError("scroll cursor of another shard than the forwarded one");
  }
  const uint32_t end = only_shard.has_value() ? *only_shard + 1 : config->shard_count;
  storage::ScrollPage out;
  while (shard < end && out.points.size() < limit) {
    auto replica = replica_of(collection, shard);
    if (!replica.ok()) return replica.status();
    auto page = node_.scroll(*replica, inner, limit - static_cast<uint32_t>(out.points.size()));
    if (!page.ok()) return page.status();
    for (auto& p : page->points) out.points.push_back(std::move(p));
    if (page->next_cursor.empty()) {
      ++shard;
      inner.clear();
    } else {
      inner = std::move(page->next_cursor);
    }
  }
  if (shard < end) {
    out.next_cursor.push_back(static_cast<char>(shard));
    out.next_cursor.append(inner);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> RequestRouter::search(
    const std::string& collection, std::span<const float> queries, const SearchParams& params,
    const std::optional<std::vector<uint32_t>>& shards) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1 && !shards.has_value()) {
    return node_.search(collection, queries, params);
  }
  std::vector<std::vector<SearchHit>> merged;
  for (uint32_t s : shards_or_all(shards, config->shard_count)) {
    auto replica = replica_of(collection, s);
    if (!replica.ok()) return replica.status();
    auto hits = node_.search(*replica, queries, params);
    if (!hits.ok()) return hits.status();
    if (merged.empty()) merged.resize(hits->size());
    for (size_t q = 0; q < hits->size(); ++q) {
      for (auto& h : (*hits)[q]) merged[q].push_back(std::move(h));
    }
  }
  merge_hits(config->metric, params.k, merged);
  return merged;
}

void merge_hits(Metric metric, uint32_t k, std::vector<std::vector<SearchHit>>& hits) {
  for (auto& query : hits) {
    std::sort(query.begin(), query.end(), [metric](const SearchHit& a, const SearchHit& b) {
      return ranks_before(metric, a, b);
    });
    if (query.size() > k) query.resize(k);
  }
}

CollectionInfo merge_shard_infos(const std::string& collection,
                                 const std::vector<CollectionInfo>& shards) {
  CollectionInfo out;
  if (shards.empty()) return out;
  out.stored = shards[0].stored;
  out.stored.config.name = collection;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  for (const auto& s : shards) {
    out.point_count += s.point_count;
    out.stored_bytes += s.stored_bytes;
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(s.digest.data()),
                              s.digest.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(","), 1);
    SegmentStats& seg = out.segments;
    seg.growing_points += s.segments.growing_points;
    seg.sealed_segments += s.segments.sealed_segments;
    seg.sealed_points += s.segments.sealed_points;
    seg.pending_segments += s.segments.pending_segments;
    seg.build_pending = seg.build_pending || s.segments.build_pending;
    seg.builds += s.segments.builds;
    seg.loaded_segments += s.segments.loaded_segments;
    seg.built_at_start += s.segments.built_at_start;
    seg.rejected_files += s.segments.rejected_files;
  }
  unsigned char digest[32];
  crypto_generichash_final(&state, digest, sizeof digest);
  out.digest =
      absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), sizeof digest));
  return out;
}

absl::StatusOr<CollectionInfo> RequestRouter::collection_info(const std::string& collection) const {
  auto config = config_of(collection);
  if (!config.ok()) return config.status();
  if (config->shard_count == 1) return node_.collection_info(collection);
  // The shard replicas held here (with a replication factor, a node holds only some shards).
  std::vector<CollectionInfo> shards;
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    auto replica = replica_of(collection, s);
    if (!replica.ok()) continue;
    auto info = node_.collection_info(*replica);
    if (!info.ok()) return info.status();
    shards.push_back(*std::move(info));
  }
  if (shards.empty()) {
    CollectionInfo none;
    none.stored.config = *config;
    return merge_shard_infos(collection, {none});
  }
  return merge_shard_infos(collection, shards);
}

absl::StatusOr<std::vector<CollectionInfo>> RequestRouter::list_collections() const {
  auto locals = node_.list_collections();
  if (!locals.ok()) return locals.status();
  // Shard replicas grouped by collection, in shard order (list_collections is in name order,
  // which puts "docs@10" before "docs@2").
  std::map<std::string, std::map<uint32_t, CollectionInfo>> by_collection;
  for (auto& info : *locals) {
    auto parsed = parse_shard_replica_name(info.stored.config.name);
    if (!parsed.ok()) continue;
    by_collection[parsed->collection][parsed->shard] = std::move(info);
  }
  std::vector<CollectionInfo> out;
  for (auto& [name, shards] : by_collection) {
    if (shards.size() == 1 && shards.begin()->first == 0 &&
        shards.begin()->second.stored.config.shard_count == 1) {
      out.push_back(std::move(shards.begin()->second));
      continue;
    }
    std::vector<CollectionInfo> ordered;
    for (auto& [shard, info] : shards) ordered.push_back(std::move(info));
    out.push_back(merge_shard_infos(name, ordered));
  }
  return out;
}

}  // namespace meridian::node
