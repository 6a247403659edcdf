// Tests of the KJ exception <-> Status bridge: codes survive the round trip, also after the
// "remote exception:" prefix the RPC layer adds, and untagged exceptions map by KJ type.
#include "schema/rpc_status.h"

#include "tests/support/test_support.h"

namespace meridian {
namespace {

TEST(RpcStatusTest, CodesAndMessagesRoundTrip) {
  for (absl::Status s :
       {absl::InvalidArgumentError("wrong dimension"), absl::NotFoundError("no such collection"),
        absl::AlreadyExistsError("dup"), absl::DataLossError("tampered"),
        absl::ResourceExhaustedError("disk full"), absl::FailedPreconditionError("key")}) {
    absl::Status back = exception_to_status(status_to_exception(s));
    EXPECT_EQ(back.code(), s.code());
    EXPECT_EQ(back.message(), s.message());
  }
}

TEST(RpcStatusTest, TagFoundBehindRemotePrefix) {
  kj::Exception e(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                  kj::str("remote exception: [meridian:NOT_FOUND] collection 'x' does not exist"));
  absl::Status s = exception_to_status(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "collection 'x' does not exist");
}

TEST(RpcStatusTest, UntaggedExceptionsMapByType) {
  auto make = [](kj::Exception::Type t) {
    return kj::Exception(t, __FILE__, __LINE__, kj::str("boom"));
  };
  EXPECT_EQ(exception_to_status(make(kj::Exception::Type::DISCONNECTED)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(exception_to_status(make(kj::Exception::Type::OVERLOADED)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(exception_to_status(make(kj::Exception::Type::UNIMPLEMENTED)).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(exception_to_status(make(kj::Exception::Type::FAILED)).code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace meridian
