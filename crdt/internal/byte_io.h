// Little-endian fixed-width and LEB128 varint writing and bounds-checked reading, for the CRDT's
// canonical encodings. Readers never read past their input and report failure instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace meridian::crdt::internal {

class ByteWriter {
 public:
  void put_u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void put_fixed32(uint32_t v) {
    for (int i = 0; i < 4; ++i) put_u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void put_fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) put_u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void put_varint(uint64_t v) {
    while (v >= 0x80) {
      put_u8(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    put_u8(static_cast<uint8_t>(v));
  }
  void put_bytes(std::string_view bytes) {
    put_varint(bytes.size());
    out_.append(bytes);
  }
  void put_raw(std::string_view bytes) { out_.append(bytes); }
  std::string& buffer() { return out_; }

 private:
  std::string out_;
};

// Every getter returns false (and leaves the output unspecified) on truncated or malformed input.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  size_t remaining() const { return in_.size(); }

  bool get_u8(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool get_fixed32(uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(4);
    return true;
  }
  bool get_fixed64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  // Canonical varints only: at most 10 bytes, no overflow, no redundant trailing zero byte, so
  // that each value has exactly one encoding.
  bool get_varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte = 0;
      if (!get_u8(byte)) return false;
      if (shift == 63 && byte > 1) return false;
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return byte != 0 || shift == 0;
    }
    return false;
  }
  // A count of items that each take at least `min_item_bytes`: rejects counts the remaining input
  // cannot hold, so a corrupt count never causes a huge allocation.
  bool get_count(uint64_t& n, size_t min_item_bytes) {
    return get_varint(n) && n <= remaining() / (min_item_bytes == 0 ? 1 : min_item_bytes);
  }
  bool get_bytes(std::string& out) {
    uint64_t n = 0;
    if (!get_varint(n) || n > in_.size()) return false;
    out.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool get_raw(size_t n, std::string_view& out) {
    if (n > in_.size()) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view in_;
};

}  // namespace meridian::crdt::internal
