// One-line-per-event logging to stderr for the daemon: "<UTC time> <LEVEL> <message>".
// Stateless (each call writes one whole line with a single write), so it is safe from any thread.
#pragma once

#include <string_view>

namespace meridian::node {

enum class LogLevel { kInfo, kWarning, kError };

void log_event(LogLevel level, std::string_view message);

inline void log_info(std::string_view m) { log_event(LogLevel::kInfo, m); }
inline void log_warning(std::string_view m) { log_event(LogLevel::kWarning, m); }
inline void log_error(std::string_view m) { log_event(LogLevel::kError, m); }

}  // namespace meridian::node
