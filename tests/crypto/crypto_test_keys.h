// Deterministic master keys, key rings and small file helpers shared by the crypto tests.
#pragma once

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "crypto/key_ring.h"
#include "crypto/master_key.h"

namespace meridian::crypto::testing {

// A master key whose bytes are seed, seed+1, ...: the same seed always gives the same key.
inline MasterKey test_key(unsigned char seed) {
  std::array<unsigned char, kMasterKeyBytes> bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(seed + i);
  return MasterKey::from_bytes(bytes).value();
}

inline KeyId test_key_id(unsigned char seed) { return test_key(seed).id(); }

// A ring of the keys with these seeds, the key with seed `active` active.
inline std::shared_ptr<const KeyRing> test_ring(const std::vector<unsigned char>& seeds,
                                                unsigned char active) {
  std::vector<MasterKey> keys;
  for (unsigned char seed : seeds) keys.push_back(test_key(seed));
  return KeyRing::create(std::move(keys), test_key_id(active)).value();
}

inline std::shared_ptr<const KeyRing> test_ring(unsigned char seed) {
  return test_ring({seed}, seed);
}

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace meridian::crypto::testing
