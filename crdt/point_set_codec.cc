// Canonical encoding: ordered maps are written in order and every count and integer has exactly
// one encoding, so bytes (and digests) depend only on the state. The decoder checks every
// invariant the encoder relies on, because its input comes from disks and peers.
#include "crdt/point_set_codec.h"

#include <sodium.h>

#include <bit>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crdt/internal/byte_io.h"

namespace meridian::crdt {
namespace {

using internal::ByteReader;
using internal::ByteWriter;

constexpr std::string_view kMagic = "MCRD";
constexpr uint8_t kKindPointSet = 1;
constexpr uint8_t kKindVersionVector = 2;
constexpr uint8_t kKindPointSlice = 3;
constexpr uint8_t kKindCausalContext = 4;
constexpr size_t kChecksumBytes = 8;

std::array<uint8_t, 16> blake2b_128(std::string_view bytes) {
  std::array<uint8_t, 16> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return out;
}

void begin(ByteWriter& w, uint8_t kind) {
  w.put_raw(kMagic);
  w.put_u8(kCrdtFormatVersion);
  w.put_u8(kind);
}

std::string finish(ByteWriter& w) {
  const auto sum = blake2b_128(w.buffer());
  w.put_raw(std::string_view(reinterpret_cast<const char*>(sum.data()), kChecksumBytes));
  return std::move(w.buffer());
}

absl::Status corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("crdt encoding: ", what));
}

// Checks magic, version, kind and checksum; returns a reader over the body.
absl::StatusOr<ByteReader> open(std::string_view bytes, uint8_t kind) {
  if (bytes.size() < kMagic.size() + 2 + kChecksumBytes) return corrupt("truncated");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt("bad magic");
  const uint8_t version = static_cast<uint8_t>(bytes[kMagic.size()]);
  if (version != kCrdtFormatVersion) {
    return absl::UnimplementedError(absl::StrCat("crdt encoding: format version ", version));
  }
  if (static_cast<uint8_t>(bytes[kMagic.size() + 1]) != kind) return corrupt("unexpected kind");
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumBytes);
  const auto sum = blake2b_128(body);
  if (bytes.substr(body.size()) !=
      std::string_view(reinterpret_cast<const char*>(sum.data()), kChecksumBytes)) {
    return corrupt("checksum mismatch");
  }
  return ByteReader(body.substr(kMagic.size() + 2));
}

void put_dot(ByteWriter& w, const Dot& dot) {
  w.put_fixed64(dot.replica);
  w.put_varint(dot.counter);
}
bool get_dot(ByteReader& r, Dot& dot) {
  return r.get_fixed64(dot.replica) && r.get_varint(dot.counter) && dot.counter != 0;
}
void put_hlc(ByteWriter& w, const HlcTimestamp& ts) {
  w.put_varint(ts.physical_ms);
  w.put_varint(ts.logical);
}
bool get_hlc(ByteReader& r, HlcTimestamp& ts) {
  uint64_t logical = 0;
  if (!r.get_varint(ts.physical_ms) || !r.get_varint(logical)) return false;
  if (logical > std::numeric_limits<uint32_t>::max()) return false;
  ts.logical = static_cast<uint32_t>(logical);
  return true;
}

void put_vv(ByteWriter& w, const VersionVector& vv) {
  w.put_varint(vv.entries().size());
  for (const auto& [replica, counter] : vv.entries()) put_dot(w, Dot{replica, counter});
}
// Replicas strictly ascending and counters non-zero, as the encoder writes them.
absl::StatusOr<VersionVector> get_vv(ByteReader& r) {
  uint64_t n = 0;
  if (!r.get_count(n, 9)) return corrupt("version vector count");
  VersionVector vv;
  Dot prev;
  for (uint64_t i = 0; i < n; ++i) {
    Dot dot;
    if (!get_dot(r, dot)) return corrupt("version vector entry");
    if (i > 0 && dot.replica <= prev.replica) return corrupt("version vector order");
    vv.include(dot);
    prev = dot;
  }
  return vv;
}

void put_record_body(ByteWriter& w, const PointRecord& record) {
  w.put_varint(record.vector_versions.size());
  for (const VectorVersion& v : record.vector_versions) {
    put_dot(w, v.dot);
    put_hlc(w, v.hlc);
    w.put_varint(v.vector.size());
    for (float x : v.vector) w.put_fixed32(std::bit_cast<uint32_t>(x));
  }
  w.put_varint(record.fields.size());
  for (const auto& [name, versions] : record.fields) {
    w.put_bytes(name);
    w.put_varint(versions.size());
    for (const FieldVersion& v : versions) {
      put_dot(w, v.dot);
      put_hlc(w, v.hlc);
      w.put_bytes(v.json);
    }
  }
}

void put_cloud(ByteWriter& w, const std::set<Dot>& cloud) {
  w.put_varint(cloud.size());
  for (const Dot& dot : cloud) put_dot(w, dot);
}

absl::StatusOr<CausalContext> get_context(ByteReader& r) {
  auto vv = get_vv(r);
  if (!vv.ok()) return vv.status();
  uint64_t n_cloud = 0;
  if (!r.get_count(n_cloud, 9)) return corrupt("cloud count");
  std::set<Dot> cloud;
  for (uint64_t i = 0; i < n_cloud; ++i) {
    Dot dot;
    if (!get_dot(r, dot)) return corrupt("cloud dot");
    if (!cloud.empty() && !(*cloud.rbegin() < dot)) return corrupt("cloud order");
    cloud.insert(cloud.end(), dot);
  }
  auto context = CausalContext::from_parts(*std::move(vv), std::move(cloud));
  if (!context.ok()) return corrupt(std::string(context.status().message()));
  return context;
}

// Reads one record body (as put_record_body writes it), checking its own canonical order and
// that no dot repeats inside it; the caller checks dots against a context.
absl::StatusOr<PointRecord> get_record_body(ByteReader& r) {
  PointRecord record;
  std::set<Dot> seen;
  auto check_dot = [&](const Dot& dot, const Dot* prev) -> absl::Status {
    if (!seen.insert(dot).second) return corrupt("duplicate dot");
    if (prev != nullptr && !(*prev < dot)) return corrupt("version order");
    return absl::OkStatus();
  };
  uint64_t n_vec = 0;
  if (!r.get_count(n_vec, 11)) return corrupt("vector version count");
  for (uint64_t j = 0; j < n_vec; ++j) {
    VectorVersion v;
    uint64_t dim = 0;
    if (!get_dot(r, v.dot) || !get_hlc(r, v.hlc) || !r.get_count(dim, 4)) {
      return corrupt("vector version");
    }
    const Dot* prev = j > 0 ? &record.vector_versions.back().dot : nullptr;
    if (auto st = check_dot(v.dot, prev); !st.ok()) return st;
    v.vector.resize(dim);
    for (float& x : v.vector) {
      uint32_t bits = 0;
      if (!r.get_fixed32(bits)) return corrupt("vector");
      x = std::bit_cast<float>(bits);
    }
    record.vector_versions.push_back(std::move(v));
  }
  uint64_t n_fields = 0;
  if (!r.get_count(n_fields, 2)) return corrupt("field count");
  if (n_vec == 0 && n_fields == 0) return corrupt("empty record");
  std::string prev_name;
  for (uint64_t j = 0; j < n_fields; ++j) {
    std::string name;
    uint64_t n_versions = 0;
    if (!r.get_bytes(name) || !r.get_count(n_versions, 11)) return corrupt("field");
    if (j > 0 && !(prev_name < name)) return corrupt("field order");
    if (n_versions == 0) return corrupt("empty field");
    std::vector<FieldVersion>& versions = record.fields[name];
    for (uint64_t k = 0; k < n_versions; ++k) {
      FieldVersion v;
      if (!get_dot(r, v.dot) || !get_hlc(r, v.hlc) || !r.get_bytes(v.json)) {
        return corrupt("field version");
      }
      const Dot* prev = k > 0 ? &versions.back().dot : nullptr;
      if (auto st = check_dot(v.dot, prev); !st.ok()) return st;
      versions.push_back(std::move(v));
    }
    prev_name = std::move(name);
  }
  return record;
}

}  // namespace

std::string encode_point_set(const PointSet& set) {
  ByteWriter w;
  begin(w, kKindPointSet);
  put_vv(w, set.context().vv());
  put_cloud(w, set.context().cloud());
  w.put_varint(set.records().size());
  for (const auto& [id, record] : set.records()) {
    w.put_bytes(id);
    put_record_body(w, record);
  }
  return finish(w);
}

absl::StatusOr<PointSet> decode_point_set(std::string_view bytes) {
  auto reader = open(bytes, kKindPointSet);
  if (!reader.ok()) return reader.status();
  ByteReader& r = *reader;

  auto vv = get_vv(r);
  if (!vv.ok()) return vv.status();
  uint64_t n_cloud = 0;
  if (!r.get_count(n_cloud, 9)) return corrupt("cloud count");
  std::set<Dot> cloud;
  for (uint64_t i = 0; i < n_cloud; ++i) {
    Dot dot;
    if (!get_dot(r, dot)) return corrupt("cloud dot");
    if (!cloud.empty() && !(*cloud.rbegin() < dot)) return corrupt("cloud order");
    cloud.insert(cloud.end(), dot);
  }
  auto context = CausalContext::from_parts(*std::move(vv), std::move(cloud));
  if (!context.ok()) return corrupt(std::string(context.status().message()));

  PointSet set;
  set.context_ = *std::move(context);
  uint64_t n_records = 0;
  if (!r.get_count(n_records, 3)) return corrupt("record count");
  const PointId* prev_id = nullptr;
  // Every version must be a dot of the context, tag no other version, and come in dot order.
  auto check_dot = [&](const Dot& dot, const Dot* prev) -> absl::Status {
    if (!set.context_.contains(dot)) return corrupt("version dot outside the context");
    if (set.dot_index_.contains(dot)) return corrupt("duplicate dot");
    if (prev != nullptr && !(*prev < dot)) return corrupt("version order");
    return absl::OkStatus();
  };
  for (uint64_t i = 0; i < n_records; ++i) {
    PointId id;
    if (!r.get_bytes(id)) return corrupt("point id");
    if (prev_id != nullptr && !(*prev_id < id)) return corrupt("point id order");
    uint64_t n_vec = 0;
    if (!r.get_count(n_vec, 11)) return corrupt("vector version count");
    Dot prev_dot;
    for (uint64_t j = 0; j < n_vec; ++j) {
      VectorVersion v;
      uint64_t dim = 0;
      if (!get_dot(r, v.dot) || !get_hlc(r, v.hlc) || !r.get_count(dim, 4)) {
        return corrupt("vector version");
      }
      if (auto st = check_dot(v.dot, j > 0 ? &prev_dot : nullptr); !st.ok()) return st;
      v.vector.resize(dim);
      for (float& x : v.vector) {
        uint32_t bits = 0;
        if (!r.get_fixed32(bits)) return corrupt("vector");
        x = std::bit_cast<float>(bits);
      }
      prev_dot = v.dot;
      set.add_vector_version(id, std::move(v));
    }
    uint64_t n_fields = 0;
    if (!r.get_count(n_fields, 2)) return corrupt("field count");
    if (n_vec == 0 && n_fields == 0) return corrupt("empty record");
    std::string prev_name;
    for (uint64_t j = 0; j < n_fields; ++j) {
      std::string name;
      uint64_t n_versions = 0;
      if (!r.get_bytes(name) || !r.get_count(n_versions, 11)) return corrupt("field");
      if (j > 0 && !(prev_name < name)) return corrupt("field order");
      if (n_versions == 0) return corrupt("empty field");
      for (uint64_t k = 0; k < n_versions; ++k) {
        FieldVersion v;
        if (!get_dot(r, v.dot) || !get_hlc(r, v.hlc) || !r.get_bytes(v.json)) {
          return corrupt("field version");
        }
        if (auto st = check_dot(v.dot, k > 0 ? &prev_dot : nullptr); !st.ok()) return st;
        prev_dot = v.dot;
        set.add_field_version(id, name, std::move(v));
      }
      prev_name = std::move(name);
    }
    prev_id = &set.records_.find(id)->first;
  }
  if (r.remaining() != 0) return corrupt("trailing bytes");
  return set;
}

std::string encode_version_vector(const VersionVector& vv) {
  ByteWriter w;
  begin(w, kKindVersionVector);
  put_vv(w, vv);
  return finish(w);
}

absl::StatusOr<VersionVector> decode_version_vector(std::string_view bytes) {
  auto reader = open(bytes, kKindVersionVector);
  if (!reader.ok()) return reader.status();
  auto vv = get_vv(*reader);
  if (!vv.ok()) return vv.status();
  if (reader->remaining() != 0) return corrupt("trailing bytes");
  return vv;
}

std::string encode_point_slice(const PointId& id, const PointRecord& record) {
  ByteWriter w;
  begin(w, kKindPointSlice);
  w.put_bytes(id);
  put_record_body(w, record);
  return finish(w);
}

absl::StatusOr<std::pair<PointId, PointRecord>> decode_point_slice(std::string_view bytes) {
  auto reader = open(bytes, kKindPointSlice);
  if (!reader.ok()) return reader.status();
  PointId id;
  if (!reader->get_bytes(id)) return corrupt("point id");
  auto record = get_record_body(*reader);
  if (!record.ok()) return record.status();
  if (reader->remaining() != 0) return corrupt("trailing bytes");
  return std::make_pair(std::move(id), *std::move(record));
}

std::string encode_causal_context(const CausalContext& context) {
  ByteWriter w;
  begin(w, kKindCausalContext);
  put_vv(w, context.vv());
  put_cloud(w, context.cloud());
  return finish(w);
}

absl::StatusOr<CausalContext> decode_causal_context(std::string_view bytes) {
  auto reader = open(bytes, kKindCausalContext);
  if (!reader.ok()) return reader.status();
  auto context = get_context(*reader);
  if (!context.ok()) return context.status();
  if (reader->remaining() != 0) return corrupt("trailing bytes");
  return context;
}

absl::StatusOr<PointSet> assemble_point_set(CausalContext context,
                                            std::vector<std::pair<PointId, PointRecord>> slices) {
  PointSet set;
  set.context_ = std::move(context);
  for (auto& [id, record] : slices) {
    if (set.records_.contains(id)) return corrupt("two slices for one point id");
    auto check = [&](const Dot& dot) -> absl::Status {
      if (!set.context_.contains(dot)) return corrupt("version dot outside the context");
      if (set.dot_index_.contains(dot)) return corrupt("duplicate dot");
      return absl::OkStatus();
    };
    for (VectorVersion& v : record.vector_versions) {
      if (auto st = check(v.dot); !st.ok()) return st;
      set.add_vector_version(id, std::move(v));
    }
    for (auto& [name, versions] : record.fields) {
      for (FieldVersion& v : versions) {
        if (auto st = check(v.dot); !st.ok()) return st;
        set.add_field_version(id, name, std::move(v));
      }
    }
  }
  return set;
}

StateDigest digest(const PointSet& set) {
  const std::string bytes = encode_point_set(set);
  StateDigest out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return out;
}

std::string to_hex(const StateDigest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace meridian::crdt
