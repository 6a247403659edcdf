// Small shared test library: Status assertions, scoped temporary directories and the
// location of the shared datasets (../shared/datasets beside the checkout).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::testing {

inline const absl::Status& status_of(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& status_of(const absl::StatusOr<T>& s) {
  return s.status();
}

#define MERIDIAN_ASSERT_OK(expr)                                              \
  do {                                                                        \
    const absl::Status meridian_st_ = ::meridian::testing::status_of((expr)); \
    ASSERT_TRUE(meridian_st_.ok()) << #expr << " -> " << meridian_st_;        \
  } while (0)
#define MERIDIAN_EXPECT_OK(expr)                                              \
  do {                                                                        \
    const absl::Status meridian_st_ = ::meridian::testing::status_of((expr)); \
    EXPECT_TRUE(meridian_st_.ok()) << #expr << " -> " << meridian_st_;        \
  } while (0)
// Expects a non-OK status with the given absl::StatusCode.
#define MERIDIAN_EXPECT_CODE(expr, code_)                                       \
  do {                                                                          \
    const absl::Status meridian_st_ = ::meridian::testing::status_of((expr));   \
    EXPECT_EQ(meridian_st_.code(), (code_)) << #expr << " -> " << meridian_st_; \
  } while (0)

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A file of this source tree (e.g. "deploy/local/make-certs.sh"); $MERIDIAN_SOURCE_DIR wins.
std::filesystem::path source_path(const std::string& relative);

// The shared dataset folder named `name` (e.g. "sift5k"), or nullopt when the datasets are not
// beside this checkout (a fresh machine): tests that need one then skip.
std::optional<std::filesystem::path> dataset_dir(const std::string& name);

}  // namespace meridian::testing
