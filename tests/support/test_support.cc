// Implementation of the shared test helpers.
#include "tests/support/test_support.h"

#include <cstdlib>
#include <random>

namespace meridian::testing {

TempDir::TempDir() {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::filesystem::path candidate =
        base / ("meridian-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  ADD_FAILURE() << "could not create a temporary directory under " << base;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::filesystem::path source_path(const std::string& relative) {
  const char* src = std::getenv("MERIDIAN_SOURCE_DIR");
  return std::filesystem::path(src != nullptr ? src : MERIDIAN_DEFAULT_SOURCE_DIR) / relative;
}

std::optional<std::filesystem::path> dataset_dir(const std::string& name) {
  std::vector<std::filesystem::path> roots;
  if (const char* env = std::getenv("MERIDIAN_DATASETS")) roots.emplace_back(env);
  const char* src = std::getenv("MERIDIAN_SOURCE_DIR");
  roots.push_back(std::filesystem::path(src != nullptr ? src : MERIDIAN_DEFAULT_SOURCE_DIR) / ".." /
                  "shared" / "datasets");
  roots.emplace_back("../shared/datasets");
  for (const auto& root : roots) {
    std::filesystem::path dir = root / name;
    if (std::filesystem::is_directory(dir)) return std::filesystem::canonical(dir);
  }
  return std::nullopt;
}

}  // namespace meridian::testing
