// Parsing and formatting of the shared value types in types.h.
#include "schema/types.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace meridian {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<PointId> PointId::parse(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty point id");
  if (text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' &&
      text[23] == '-') {
    Uuid u{};
    size_t byte = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) continue;
      int hi = hex_value(text[i]);
      int lo = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      if (hi < 0 || lo < 0) break;
      u[byte++] = static_cast<uint8_t>(hi * 16 + lo);
      ++i;
    }
    if (byte == 16) return PointId::uuid(u);
    return absl::InvalidArgumentError(
        absl::StrCat("malformed UUID point id '", std::string(text), "'"));
  }
  uint64_t n = 0;
  if (text[0] != '-' && text[0] != '+' &&
      absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &n))
    return PointId::number(n);
  return absl::InvalidArgumentError(absl::StrCat(
      "point id '", std::string(text), "' is neither an unsigned 64-bit integer nor a UUID"));
}

std::string PointId::to_string() const {
  if (is_number()) return absl::StrCat(as_number());
  const Uuid& u = as_uuid();
  char buf[37];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                u[15]);
  return buf;
}

std::string_view metric_name(Metric m) {
  switch (m) {
    case Metric::kL2:
      return "l2";
    case Metric::kCosine:
      return "cosine";
    case Metric::kDot:
      return "dot";
  }
  return "unknown";
}

absl::StatusOr<Metric> parse_metric(std::string_view name) {
  if (name == "l2") return Metric::kL2;
  if (name == "cosine") return Metric::kCosine;
  if (name == "dot") return Metric::kDot;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric '", std::string(name), "' (expected l2, cosine or dot)"));
}

std::string_view index_kind_name(IndexKind k) {
  switch (k) {
    case IndexKind::kFlat:
      return "flat";
    case IndexKind::kHnsw:
      return "hnsw";
    case IndexKind::kIvfFlat:
      return "ivf_flat";
    case IndexKind::kIvfPq:
      return "ivf_pq";
  }
  return "unknown";
}

absl::StatusOr<IndexKind> parse_index_kind(std::string_view name) {
  if (name == "flat") return IndexKind::kFlat;
  if (name == "hnsw") return IndexKind::kHnsw;
  if (name == "ivf_flat") return IndexKind::kIvfFlat;
  if (name == "ivf_pq") return IndexKind::kIvfPq;
  return absl::InvalidArgumentError(absl::StrCat("unknown index kind '", std::string(name),
                                                 "' (available: flat, hnsw, ivf_flat, ivf_pq)"));
}

std::string_view quantization_name(Quantization q) {
  switch (q) {
    case Quantization::kNone:
      return "none";
    case Quantization::kSq8:
      return "sq8";
  }
  return "unknown";
}

absl::StatusOr<Quantization> parse_quantization(std::string_view name) {
  if (name == "none") return Quantization::kNone;
  if (name == "sq8") return Quantization::kSq8;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown quantization '", std::string(name), "' (expected none or sq8)"));
}

std::string shard_replica_name(std::string_view collection, uint32_t shard) {
  if (shard == 0) return std::string(collection);
  return std::string(collection) + "@" + std::to_string(shard);
}

absl::StatusOr<ShardReplicaName> parse_shard_replica_name(std::string_view local_name) {
  const size_t at = local_name.find('@');
  ShardReplicaName out;
  out.collection = std::string(local_name.substr(0, at));
  if (auto s = validate_collection_name(out.collection); !s.ok()) return s;
  if (at == std::string_view::npos) return out;
  const std::string_view digits = local_name.substr(at + 1);
  uint32_t shard = 0;
  bool valid = !digits.empty() && digits.size() <= 3 && digits[0] != '0';
  for (char c : digits) {
    valid = valid && c >= '0' && c <= '9';
    if (valid) shard = shard * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!valid || shard >= kMaxShardCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(local_name), "' is not a shard replica name"));
  }
  out.shard = shard;
  return out;
}

uint32_t ivf_pq_m_for(uint32_t configured, uint32_t dim) {
  if (configured != 0) return configured;
  uint32_t m = dim / 4;
  if (dim >= 16) m = m / 4 * 4;
  return std::max<uint32_t>(1, std::min(m, kMaxIvfPqM));
}

uint32_t effective_refine_factor(const CollectionConfig& config) {
  if (config.index_kind == IndexKind::kIvfPq) {
    return config.refine_factor != 0 ? config.refine_factor : kDefaultIvfPqRefineFactor;
  }
  if (config.quantization == Quantization::kSq8) {
    return config.refine_factor != 0 ? config.refine_factor : kDefaultSq8RefineFactor;
  }
  return 0;
}

absl::Status validate_collection_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxCollectionNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("collection name must be 1..", kMaxCollectionNameLength, " characters"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("collection name '", std::string(name),
                       "' may only contain letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status validate_collection_config(const CollectionConfig& config) {
  if (auto s = validate_collection_name(config.name); !s.ok()) return s;
  if (config.dim == 0 || config.dim > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension ", config.dim, " out of range 1..", kMaxDim));
  }
  if (config.index_kind == IndexKind::kHnsw) {
    if (config.hnsw_m < 2 || config.hnsw_m > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("hnsw m = ", config.hnsw_m, " out of range 2..128"));
    }
    if (config.hnsw_ef_construction < 1 || config.hnsw_ef_construction > kMaxHnswEf) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hnsw ef_construction = ", config.hnsw_ef_construction, " out of range 1..", kMaxHnswEf));
    }
  }
  if (config.ivf_nlist > kMaxIvfNlist) {
    return absl::InvalidArgumentError(absl::StrCat("ivf nlist = ", config.ivf_nlist,
                                                   " out of range 1..", kMaxIvfNlist,
                                                   " (0 = chosen per segment)"));
  }
  const bool ivf =
      config.index_kind == IndexKind::kIvfFlat || config.index_kind == IndexKind::kIvfPq;
  if (config.ivf_nlist != 0 && !ivf) {
    return absl::InvalidArgumentError(
        absl::StrCat("nlist applies to index kinds ivf_flat and ivf_pq only, not ",
                     std::string(index_kind_name(config.index_kind))));
  }
  if (config.pq_m != 0 && config.index_kind != IndexKind::kIvfPq) {
    return absl::InvalidArgumentError(
        absl::StrCat("pq m applies to index kind ivf_pq only, not ",
                     std::string(index_kind_name(config.index_kind))));
  }
  if (config.pq_m > std::min(config.dim, kMaxIvfPqM)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pq m = ", config.pq_m, " out of range 1..", std::min(config.dim, kMaxIvfPqM),
                     " (at most the dimension ", config.dim, " and ", kMaxIvfPqM, "; 0 = auto)"));
  }
  if (config.quantization != Quantization::kNone && config.quantization != Quantization::kSq8) {
    return absl::InvalidArgumentError("quantization must be none or sq8");
  }
  if (config.quantization != Quantization::kNone && config.index_kind != IndexKind::kHnsw &&
      config.index_kind != IndexKind::kIvfFlat) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantization sq8 applies to index kinds hnsw and ivf_flat only, not ",
                     std::string(index_kind_name(config.index_kind))));
  }
  if (config.refine_factor > kMaxRefineFactor) {
    return absl::InvalidArgumentError(absl::StrCat("refine factor = ", config.refine_factor,
                                                   " out of range 1..", kMaxRefineFactor,
                                                   " (0 = default)"));
  }
  if (config.refine_factor != 0 && effective_refine_factor(config) == 0) {
    return absl::InvalidArgumentError(
        "refine factor applies to index kind ivf_pq and to quantization sq8 only");
  }
  if (config.segment_seal_points < kMinSegmentSealPoints ||
      config.segment_seal_points > kMaxSegmentSealPoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment seal points = ", config.segment_seal_points, " out of range ",
                     kMinSegmentSealPoints, "..", kMaxSegmentSealPoints));
  }
  if (config.segment_rebuild_deleted_percent < 1 || config.segment_rebuild_deleted_percent > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment rebuild deleted percent = ", config.segment_rebuild_deleted_percent,
                     " out of range 1..100"));
  }
  if (config.shard_count < 1 || config.shard_count > kMaxShardCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard count = ", config.shard_count, " out of range 1..", kMaxShardCount));
  }
  if (config.replication_factor > kMaxReplicationFactor) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication factor = ", config.replication_factor, " out of range 1..",
                     kMaxReplicationFactor, " (0 = every node)"));
  }
  return absl::OkStatus();
}

}  // namespace meridian
