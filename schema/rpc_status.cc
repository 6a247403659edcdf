// KJ exception <-> absl::Status conversion; see rpc_status.h.
#include "schema/rpc_status.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace meridian {
namespace {

constexpr std::string_view kTagPrefix = "[meridian:";

struct CodeName {
  absl::StatusCode code;
  std::string_view name;
};

constexpr CodeName kCodes[] = {
    {absl::StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
    {absl::StatusCode::kNotFound, "NOT_FOUND"},
    {absl::StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
    {absl::StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
    {absl::StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
    {absl::StatusCode::kOutOfRange, "OUT_OF_RANGE"},
    {absl::StatusCode::kDataLoss, "DATA_LOSS"},
    {absl::StatusCode::kUnavailable, "UNAVAILABLE"},
    {absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
    {absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
    {absl::StatusCode::kUnauthenticated, "UNAUTHENTICATED"},
    {absl::StatusCode::kUnimplemented, "UNIMPLEMENTED"},
    {absl::StatusCode::kAborted, "ABORTED"},
    {absl::StatusCode::kInternal, "INTERNAL"},
};

std::string_view code_name(absl::StatusCode code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c.name;
  }
  return "INTERNAL";
}

kj::Exception::Type kj_type_for(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
      return kj::Exception::Type::DISCONNECTED;
    case absl::StatusCode::kResourceExhausted:
      return kj::Exception::Type::OVERLOADED;
    case absl::StatusCode::kUnimplemented:
      return kj::Exception::Type::UNIMPLEMENTED;
    default:
      return kj::Exception::Type::FAILED;
  }
}

}  // namespace

kj::Exception status_to_exception(const absl::Status& status) {
  std::string description = absl::StrCat(
      std::string(kTagPrefix), std::string(code_name(status.code())), "] ", status.message());
  return kj::Exception(kj_type_for(status.code()), __FILE__, __LINE__,
                       kj::heapString(description.data(), description.size()));
}

void throw_status(const absl::Status& status) {
  kj::throwFatalException(status_to_exception(status));
}

absl::Status exception_to_status(const kj::Exception& exception) {
  std::string_view description(exception.getDescription().cStr());
  size_t tag = description.find(kTagPrefix);
  if (tag != std::string_view::npos) {
    size_t start = tag + kTagPrefix.size();
    size_t end = description.find(']', start);
    if (end != std::string_view::npos) {
      std::string_view name = description.substr(start, end - start);
      std::string_view message = description.substr(end + 1);
      if (!message.empty() && message.front() == ' ') message.remove_prefix(1);
      for (const auto& c : kCodes) {
        if (c.name == name) return absl::Status(c.code, std::string(message));
      }
    }
  }
  switch (exception.getType()) {
    case kj::Exception::Type::DISCONNECTED:
      return absl::UnavailableError(std::string(description));
    case kj::Exception::Type::OVERLOADED:
      return absl::ResourceExhaustedError(std::string(description));
    case kj::Exception::Type::UNIMPLEMENTED:
      return absl::UnimplementedError(std::string(description));
    default:
      return absl::InternalError(std::string(description));
  }
}

}  // namespace meridian
