// Tests of `meridian keygen`: parsing, a 0600 key file that loads back, and no overwrite.
#include "cli/keygen_command.h"

#include <sys/stat.h>

#include <sstream>

#include "crypto/key_file.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(KeygenCommandTest, ParsesAndNeedsNoServer) {
  auto parsed = parse_command_line({"keygen", "--out", "k.key"}, kDefaultServer);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(std::holds_alternative<KeygenArgs>(parsed->command));
  EXPECT_EQ(std::get<KeygenArgs>(parsed->command).out, "k.key");
  EXPECT_FALSE(needs_server(parsed->command));
  MERIDIAN_EXPECT_CODE(parse_command_line({"keygen"}, kDefaultServer),
                       absl::StatusCode::kInvalidArgument);
}

TEST(KeygenCommandTest, WritesAPrivateKeyFileOnceAndPrintsItsId) {
  meridian::testing::TempDir dir;
  std::string path = (dir.path() / "master.key").string();
  std::ostringstream out;
  MERIDIAN_ASSERT_OK(run_keygen({path}, out));
  auto key = crypto::load_key_file(path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_THAT(out.str(), ::testing::HasSubstr(crypto::format_key_id(key->id())));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ostringstream again;
  MERIDIAN_EXPECT_CODE(run_keygen({path}, again), absl::StatusCode::kAlreadyExists);
  auto same = crypto::load_key_file(path);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id(), key->id());
}

}  // namespace
}  // namespace meridian::cli
