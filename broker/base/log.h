// telemq: structured log lines.
//
// One line per event, written with a single write(2) so lines from different
// shard threads never interleave:
//
//   2026-11-25T06:55:27.123Z W shard=1 closing connection: reason="malformed packet" ...
//
//   TELEMQ_LOG(kWarning, "closing connection %s: %s", peer, why);
//
// Formatting uses absl::StrFormat (checked at compile time). Lines below the
// process-wide level are skipped before any formatting happens.
#pragma once

#include <atomic>
#include <string>

#include "absl/strings/str_format.h"

namespace telemq {

enum class LogLevel : int { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// Parses "error", "warning"/"warn", "info", "debug".
bool ParseLogLevel(const std::string& name, LogLevel* out);
const char* LogLevelName(LogLevel level);

void SetLogLevel(LogLevel level);
// Lines go to stderr unless a test captures them.
void SetLogSink(void (*sink)(const std::string& line));

// The shard of the calling thread, shown as shard=N (-1: not a shard thread).
void SetLogShard(int shard);

namespace log_internal {
extern std::atomic<int> g_level;
void Emit(LogLevel level, const std::string& message);
}  // namespace log_internal

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= log_internal::g_level.load(std::memory_order_relaxed);
}

}  // namespace telemq

#define TELEMQ_LOG(level, ...)                                                               \
  do {                                                                                       \
    if (::telemq::LogEnabled(::telemq::LogLevel::level)) {                                   \
      ::telemq::log_internal::Emit(::telemq::LogLevel::level, absl::StrFormat(__VA_ARGS__)); \
    }                                                                                        \
  } while (false)
